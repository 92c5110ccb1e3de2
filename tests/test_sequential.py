"""``gs-export module``: a generator whose blocks run one after another, cut from a Python
reference and a weights file; the public face weights give gs-export dcgan's artifact.

The conformance suite runs on the ``module`` model too (test_models.py, smoke network)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from gs import artifacts as artifact
from gs.errors import UserInputError
from gs.export.cli import main as export_cli
from gs.io import sha256_file
from gs.models import DCGANGenerator, SequentialGenerator, load_generator
from gs.models.checkpoint import generator_file
from gs.testing import assert_close_f32
from helpers import one_sentence_error
from sequential_nets import DECODER_BLOCKS, Decoder, plain_sequential

pytestmark = pytest.mark.usefixtures("one_thread")

ROOT = Path(__file__).resolve().parents[1]
FACES = ROOT / "weights" / "dcgan_faces.tar"
PYTORCH_EXAMPLES = ROOT / "examples" / "pytorch-dcgan"
FACE_BLOCKS = "main.0-2,main.3-5,main.6-8,main.9-11,main.12-13"


def export(*args: object):
    return CliRunner().invoke(export_cli, [str(a) for a in args])


@pytest.fixture(scope="module")
def decoder_weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A :class:`Decoder`'s state dict with trained-looking batch-norm statistics."""
    torch.manual_seed(0)
    net = Decoder()
    net.ups[0][1].running_mean.normal_(0, 0.1)
    net.ups[0][1].running_var.uniform_(0.5, 1.5)
    path = tmp_path_factory.mktemp("decoder") / "decoder.pth"
    torch.save(net.state_dict(), path)
    return path


def test_a_linear_headed_decoder_with_listed_blocks_exports_every_cut(decoder_weights, tmp_path):
    """Joined (fc+unflatten) and listed (ups.*) blocks; the latent read off the Linear, the
    range off the Sigmoid; each cut's artifact equals the network's own forward."""
    net = Decoder()
    net.load_state_dict(torch.load(decoder_weights))
    net.eval()
    z = torch.randn(3, 6, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = net(z)
    for c, shape in [(0, (6,)), (1, (4, 4, 4)), (2, (2, 8, 8))]:
        out = tmp_path / f"decoder_c{c}.pt"
        result = export("module", "--module", "sequential_nets:Decoder", "--blocks",
                        DECODER_BLOCKS, "--weights", decoder_weights, "--cut", c, "-o", out)
        assert result.exit_code == 0, result.output
        art = artifact.load(out)
        meta = art.metadata
        assert meta.model == "module" and meta.spec.shapes == (shape,)
        assert meta.image_shape == (3, 16, 16) and meta.valid_cuts == (0, 1, 2)
        assert meta.model_config == {"module": "sequential_nets:Decoder",
                                     "blocks": DECODER_BLOCKS, "input_shape": "6",
                                     "output_range": "sigmoid", "weights_key": None}
        assert (meta.source_name, meta.source_sha256) == (decoder_weights.name,
                                                          sha256_file(decoder_weights))
        with torch.no_grad():
            assert_close_f32(art.generator_at(0)(z), expected, net)  # sigmoid: already [0, 1]


def test_a_plain_sequential_is_cut_by_child_ranges_and_found_without_a_model_name(tmp_path):
    """The network itself an nn.Sequential (blocks 0-1,2-3); the latent read off a
    ConvTranspose2d, the range off a Tanh; the options alone choose the model."""
    torch.manual_seed(0)
    weights = tmp_path / "seq.pth"
    torch.save({"generator": plain_sequential().state_dict()}, weights)  # a usual wrapper key
    generator = load_generator(weights, module="sequential_nets:plain_sequential",
                               blocks="0-1,2-3").model
    assert generator.model_name == "module" and generator.num_blocks == 2
    assert [generator.cut_spec(c).shapes for c in (0, 1)] == [((4, 1, 1),), ((3, 4, 4),)]
    assert generator.output_range == "tanh" and generator.image_shape == (3, 8, 8)
    raw = torch.tensor([-1.0, 0.0, 1.0])
    assert torch.equal(generator.to_image(raw), torch.tensor([0.0, 0.5, 1.0]))


@pytest.mark.skipif(not FACES.is_file(), reason=f"{FACES.name} is not fetched (make weights)")
def test_the_public_face_weights_through_module_give_the_dcgan_artifact(tmp_path, monkeypatch):
    """pytorch-examples' Generator (a reference copy, imported from the current folder) and
    the face weights through --module: the same tail and heads as gs-export dcgan."""
    monkeypatch.chdir(PYTORCH_EXAMPLES)
    cut = 4  # every head block is in the artifact
    via_module, via_dcgan = tmp_path / "module.pt", tmp_path / "dcgan.pt"
    result = export("module", "--module", "dcgan_generator:Generator", "--weights", FACES,
                    "--weights-key", "netG_state_dict", "--blocks", FACE_BLOCKS, "--cut", cut,
                    "-o", via_module)
    assert result.exit_code == 0, result.output
    result = export("dcgan", "--weights", FACES, "--cut", cut, "-o", via_dcgan)
    assert result.exit_code == 0, result.output
    ours, theirs = artifact.load(via_module), artifact.load(via_dcgan)
    for field in ("latents", "image_shape", "valid_cuts", "recommended", "source_sha256"):
        assert getattr(ours.metadata, field) == getattr(theirs.metadata, field), field
    assert ours.metadata.model_config == {
        "module": "dcgan_generator:Generator", "blocks": FACE_BLOCKS, "input_shape": "100,1,1",
        "output_range": "tanh", "weights_key": "netG_state_dict"}
    with torch.device("meta"):
        network = DCGANGenerator()  # the layers that set the tolerance; no weights needed
    z = torch.randn(3, 100, 1, 1, generator=torch.Generator().manual_seed(0)).clamp(-1, 1)
    with torch.no_grad():
        for c in range(cut + 1):
            state = theirs.carry(0, c, [z])
            for got, want in zip(ours.carry(0, c, [z]), state, strict=True):
                assert_close_f32(got, want, network)
            assert_close_f32(ours.generator_at(c)(*state), theirs.generator_at(c)(*state),
                             network)



@pytest.mark.parametrize("reference, blocks, extra, fragments", [
    ("sequential_nets", DECODER_BLOCKS, [],
     ["--module must be package.module:name, got 'sequential_nets'"]),
    ("no_such_package:G", DECODER_BLOCKS, [],
     ["--module no_such_package:G cannot be imported: ModuleNotFoundError"]),
    ("sequential_nets:Missing", DECODER_BLOCKS, [],
     ["--module sequential_nets:Missing names nothing: sequential_nets has no attribute "
      "'Missing'"]),
    ("sequential_nets:NOT_CALLABLE", DECODER_BLOCKS, [],
     ["--module sequential_nets:NOT_CALLABLE names 3, expected a class or function"]),
    ("sequential_nets:fails", DECODER_BLOCKS, [],
     ["--module sequential_nets:fails failed when called with no arguments: RuntimeError: "
      "no GPU driver found"]),
    ("sequential_nets:not_a_network", DECODER_BLOCKS, [],
     ["--module sequential_nets:not_a_network returned a list, expected a torch.nn.Module"]),
    ("sequential_nets:Decoder", "fc+unflatten;ups.*", [],
     ["--blocks fc+unflatten;ups.* has 'unflatten;ups.*', expected a submodule path"]),
    ("sequential_nets:Decoder", "fc+unflatten,head.0-1", [],
     ["--blocks fc+unflatten,head.0-1 has 'head.0-1', but the network has no submodule "
      "'head' (its children: fc, unflatten, ups)"]),
    ("sequential_nets:Decoder", "fc+unflatten,ups.0-2", [],
     ["--blocks fc+unflatten,ups.0-2 has 'ups.0-2', but ups has 2 children (0 to 1)"]),
    ("sequential_nets:Decoder", "fc+ups.*", [],
     ["--blocks fc+ups.* joins 'ups.*' to another submodule; a * stands alone"]),
    ("sequential_nets:WithSkip", "main.*", ["--input-shape", "3,4,4"],
     ["--blocks main.* do not compose to the network's forward"]),
    ("sequential_nets:conv_first", "*", [],
     ["--input-shape is needed: the first layer, a Conv2d, does not say the latent's shape"]),
    ("sequential_nets:no_final_activation", "0", [],
     ["--output-range is needed: the last layer, a ConvTranspose2d, does not say"]),
    ("sequential_nets:Decoder", DECODER_BLOCKS, ["--input-shape", "5"],
     ["--input-shape 5 does not fit block 1 of --blocks fc+unflatten,ups.*: RuntimeError"]),
    ("sequential_nets:Decoder", DECODER_BLOCKS, ["--input-shape", "6x"],
     ["--input-shape must be positive integers such as 100,1,1, got '6x'"]),
    ("sequential_nets:flat_output", "*", [],
     ["--blocks * end in a tensor of shape (8,), expected an image (C, H, W)"]),
    ("sequential_nets:Decoder", DECODER_BLOCKS, ["--output-range", "relu"],
     ["--output-range must be one of tanh, sigmoid, unit, got 'relu'"]),
    ("sequential_nets:Decoder", DECODER_BLOCKS, ["--weights-key", "ema"],
     ["--weights-key 'ema' is not a key of --weights", "its keys are fc.weight"]),
    ("sequential_nets:narrow_decoder", DECODER_BLOCKS, [],
     ["has fc.weight of shape (64, 6), but --module sequential_nets:narrow_decoder has "
      "(32, 6)"]),
    ("sequential_nets:plain_sequential", "0-1,2-3", [],
     ["does not fit --module sequential_nets:plain_sequential: missing keys ['0.bias'"]),
    ("sequential_nets:Decoder", DECODER_BLOCKS, ["--cut", "3"],
     ["--cut 3 is not allowed for module; expected an integer from 0 to 2"]),
])
def test_every_mistake_is_one_sentence_naming_its_flag(reference, blocks, extra, fragments,
                                                       decoder_weights, tmp_path):
    out = tmp_path / "out.pt"
    result = export("module", "--module", reference, "--blocks", blocks, "--weights",
                    decoder_weights, "-o", out, *extra)
    one_sentence_error(result, *fragments)
    assert not out.exists()


def test_the_options_of_module_are_its_own(decoder_weights, tmp_path):
    out = tmp_path / "out.pt"
    one_sentence_error(export("dcgan", "--weights", decoder_weights, "--blocks", "0-1", "-o",
                              out), "--blocks applies to module only, not to dcgan")
    one_sentence_error(export("module", "--weights", decoder_weights, "--module",
                              "sequential_nets:Decoder", "-o", out),
                       "--blocks is needed to load a module model")
    assert not out.exists()


def test_a_generator_file_never_names_the_code_that_loads_it(decoder_weights, tmp_path):
    """A module model's generator file records its code reference; loading it still needs
    the caller to name the code (gs imports nothing a file names)."""
    options = {"module": "sequential_nets:Decoder", "blocks": DECODER_BLOCKS}
    generator = load_generator(decoder_weights, "module", **options).model
    record = tmp_path / "generator.pt"
    torch.save(generator_file(generator), record)
    with pytest.raises(UserInputError, match="module is needed to load a module model"):
        load_generator(record)
    again = load_generator(record, **options).model
    assert isinstance(again, SequentialGenerator) and again.config() == generator.config()
