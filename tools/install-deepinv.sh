#!/usr/bin/env bash
# Installs the gs[deepinv] extra into a venv so that tests/test_deepinv.py runs:
#   tools/install-deepinv.sh VENV [TORCH_VERSION]
# Idempotent: a stamp file in the venv records what was installed, and a second run with
# the same versions returns at once.
#
# deepinv imports torchvision when it is imported, and uses it there only for pure-Python
# image transforms. torchvision 0.28 is the release built against torch 2.13, but PyPI's
# x86_64 wheel of it is compiled against a CUDA build of torch: beside the CPU build of
# torch its compiled ops (_C.so, image.so) do not load, and two fake-tensor registrations
# in torchvision/_meta_registrations.py that are not guarded by `_has_ops()` (as all the
# others are) then fail the import ("operator torchvision::nms does not exist"). Where that
# happens, the compiled files are removed (torchvision reports its ops as absent, as for
# any build without them) and those two registrations are guarded like the others. Where
# torchvision imports as installed (a torch and torchvision that match), nothing is changed.
set -euo pipefail

VENV=${1:?usage: tools/install-deepinv.sh VENV [TORCH_VERSION]}
TORCH_VERSION=${2:-2.13.0}
DEEPINV_VERSION=0.5.0
case $TORCH_VERSION in
    2.13.*) TORCHVISION_VERSION=0.28.0 ;;
    2.14.*) TORCHVISION_VERSION=0.29.1 ;;
    *) echo "install-deepinv.sh: no torchvision known for torch $TORCH_VERSION" >&2; exit 1 ;;
esac
BIN=$VENV/bin
STAMP=$VENV/.deepinv-$DEEPINV_VERSION-torchvision-$TORCHVISION_VERSION
[ -e "$STAMP" ] && exit 0

# torch named with its pin in the same command, so that the resolver never replaces it
# (a CUDA build of several GB) while it satisfies deepinv's and torchvision's requirements.
"$BIN/pip" install --quiet "torch==$TORCH_VERSION" "deepinv==$DEEPINV_VERSION" \
    "torchvision==$TORCHVISION_VERSION"

if ! "$BIN/python" -c "import torchvision" 2>/dev/null; then
    package=$("$BIN/python" -c "import importlib.util as u; \
print(u.find_spec('torchvision').submodule_search_locations[0])")
    rm -rf "$package"/_C.so "$package"/image.so "$package"/video_reader.so \
        "$package"/../torchvision.libs
    sed -i -E 's/^@torch\.library\.register_fake\((.*)\)$/@(torch.library.register_fake(\1) if torchvision.extension._has_ops() else (lambda fn: fn))/' \
        "$package"/_meta_registrations.py
fi
"$BIN/python" -c "import deepinv, torchvision"
touch "$STAMP"
