# One entry point for README, developers and CI. Every target creates .venv when missing.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench interop clean pki pki-check certify fuzz image

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/sigsvc demo-run

test: $(STAMP)
	$(BIN)/pytest

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy sigsvc crypto audit certification bench

bench: $(STAMP)
	$(BIN)/python -m bench $(ONLY)

# The fuzzing tier (tests/fuzz) at length; `make test` runs it with 25 examples per fuzzer.
fuzz: $(STAMP)
	FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-3000} $(BIN)/pytest tests/fuzz -q

interop: $(STAMP)
	$(BIN)/pytest -m interop

# The certifier's conformance suite (docs/certification.md) against a fresh local deployment:
# `make certify` (SQLite), `make certify DB=postgres`, `make certify TLS=1` (gunicorn
# terminates TLS, so C24 runs). The report goes to $(CERTIFY_OUT).
DB ?= sqlite
CERTIFY_OUT ?= certify-report
certify: $(STAMP)
	$(BIN)/python -m certification.certify.local --db $(DB) $(if $(TLS),--tls) \
		--out $(CERTIFY_OUT) $(if $(ONLY),--only $(ONLY))

# Test PKI (certification/testpki): regenerate certificates and the test trusted list from
# pki.yml; pki-check fails when the checked-in files differ from a fresh regeneration.
pki: $(STAMP)
	$(BIN)/python -m certification.testpki.generate

pki-check: pki
	git diff --exit-code -- certification/testpki/generated
	test -z "$$(git status --porcelain -- certification/testpki/generated)"

# Opt-in (not in `make test`): deploy/Dockerfile built here without Docker Hub, from a Debian
# base made with debootstrap (deploy/local-base.sh; root, debootstrap, docker.io).
image:
	deploy/local-base.sh

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache .mypy_cache .ruff_cache .image-work
