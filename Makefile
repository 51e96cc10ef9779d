# The README's two commands: `make dev` runs the whole system on embedded defaults, `make test` tests it.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: dev test lint format install clean lock lock-check runtime-check

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall whenever the project's dependency files change. Only the hashed lock is installed (a lock
# that does not install, or a package whose hash changed, fails here and so in CI); then the project
# itself, without resolving anything again.
$(VENV)/.installed: requirements-dev.txt setup.cfg pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet --require-hashes -r requirements-dev.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	touch $@

install: $(VENV)/.installed

dev: install
	$(BIN)/python -m devmode

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: install
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The suite waits on subprocesses and servers more than it computes, so it runs on more xdist workers
# than there are cores; each worker starts its own redis-server, document server and sandbox
# (tests/conftest.py). A worker gets whole work units (tests/conftest.py's scheduler; --dist must name
# a mode, not `no`): a lane of reliability scenarios (tests/reliability), run one after another on
# their worker beside the rest of the suite; a slow test alone; or a whole file, so that a
# module-scoped fixture (a browser, the benchmarks' smoke runs) is set up once. Units go out in the
# order tests/conftest.py collects them (the lanes, then the slow tests; xdist would reorder them by
# their count of tests). `make test TEST_WORKERS=0` runs it all in one process.
TEST_WORKERS ?= 6
test: lint
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

# The locks, from setup.cfg: requirements.txt (install_requires: what a Python buildpack installs) and
# requirements-dev.txt (plus the dev extra, held to the same pins). Existing pins are kept while they
# still satisfy setup.cfg; `make lock LOCK_ARGS=--upgrade` moves everything to the newest releases.
LOCK_FLAGS := --quiet --generate-hashes --strip-extras --no-emit-find-links --no-emit-index-url $(LOCK_ARGS)
# The locks' header names this command rather than pip-compile's arguments (and temporary paths).
export CUSTOM_COMPILE_COMMAND := make lock

lock: install
	$(MAKE) --no-print-directory compile-lock

# Recompiles in a temporary copy and fails on any difference: a lock not regenerated after a setup.cfg
# change. Needs PyPI; tests/test_lock.py checks the same offline, in every `make test`.
lock-check: install
	d=$$(mktemp -d) && cp setup.cfg pyproject.toml README.md requirements.txt requirements-dev.txt $$d/ \
		&& $(MAKE) --no-print-directory -C $$d -f $(CURDIR)/Makefile BIN=$(CURDIR)/$(BIN) compile-lock \
		&& diff -u requirements.txt $$d/requirements.txt && diff -u requirements-dev.txt $$d/requirements-dev.txt \
		&& rm -r $$d

# What a buildpack does: the runtime lock alone, with hashes, into a fresh virtualenv; then the modules
# of every Procfile process import from it (.ci/run runs this before the tests).
RUNTIME_IMPORTS := services.operations.release, web.app, cron.scheduler, cli.__main__, gunicorn.app.wsgiapp, dramatiq.cli, \
	dramatiq.brokers.redis, dramatiq.brokers.rabbitmq
runtime-check:
	d=$$(mktemp -d) && $(PYTHON) -m venv $$d \
		&& $$d/bin/python -m pip install --quiet --require-hashes -r requirements.txt \
		&& $$d/bin/python -c "import $(RUNTIME_IMPORTS)" \
		&& echo "requirements.txt installs with hashes into a fresh virtualenv; the Procfile's modules import." \
		; status=$$?; rm -rf $$d; exit $$status

.PHONY: compile-lock
compile-lock:
	$(BIN)/pip-compile $(LOCK_FLAGS) --output-file requirements.txt setup.cfg
	$(BIN)/pip-compile $(LOCK_FLAGS) --allow-unsafe --extra dev --constraint requirements.txt \
		--output-file requirements-dev.txt setup.cfg

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .ruff_cache

# Every benchmark and one table; writes bench/results.json. `make bench BENCH_ARGS=--full` for the
# issue's sizes plus bench.freshness (README, Performance).
.PHONY: bench
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Every reliability scenario (tests/reliability) at full size; writes RELIABILITY.md.
.PHONY: reliability
reliability: install
	$(BIN)/python -m tests.reliability.report

# The container image (README, Deploy: the container path). One image for every process type; its base
# is made from Debian's packages (deploy/container/base-image.sh, once: it is kept in podman's store).
# podman runs with deploy/container/containers.conf, which these hosts need (runc, ulimits).
IMAGE ?= localhost/sellersync:latest
BASE_IMAGE ?= localhost/sellersync-base:bookworm
PODMAN ?= podman
export CONTAINERS_CONF ?= $(CURDIR)/deploy/container/containers.conf

.PHONY: base-image image image-test
base-image:
	$(PODMAN) image exists $(BASE_IMAGE) || deploy/container/base-image.sh $(BASE_IMAGE)

# --format docker: the OCI format has no HEALTHCHECK. --network host: the build's apt-get and pip reach
# their mirrors through the host's network (no bridge needed). The host's CAs are the build's pip's
# (a secret: in no layer of the image).
CA_CERTIFICATES ?= /etc/ssl/certs/ca-certificates.crt
image: base-image
	$(PODMAN) build --format docker --network host --build-arg BASE=$(BASE_IMAGE) \
		--secret id=ca-certificates,src=$(CA_CERTIFICATES) --tag $(IMAGE) .
	@$(PODMAN) image inspect --format '$(IMAGE): {{.Size}} bytes' $(IMAGE)

# Builds the image, then runs it as each Procfile process against the embedded servers (tests/image).
# Slow (the build takes minutes): not part of `make test`; .ci/run runs it after the tests.
image-test: install image
	SELLERSYNC_IMAGE=$(IMAGE) PODMAN=$(PODMAN) $(BIN)/python -m pytest tests/image
