# hubsite: the two commands of README.md, and the pieces they are made of. Run as root on Debian 12.
#
#   make demo          bootstrap, then deploy the demo site onto local systemd containers (playbooks/demo.yml)
#   make demo-clean    remove the demo's containers (playbooks/demo.yml -e demo_state=absent)
#   make check         probe the demo as a user would (playbooks/check.yml)
#   make test          bootstrap, lint, unit, syntax, molecule: every stage runs, then a one-line summary
#   make bootstrap     scripts/bootstrap.sh: Docker engine, venv, collections, test image (idempotent)
#   make lint          yamllint, ansible-lint (production profile), ruff check, ruff format --check
#   make unit          pytest tests/
#   make syntax        for every inventory under inventories/: site.yml --syntax-check and the validate play
#   make molecule      every scenario under molecule/, one after the other
#
# Variables:
#   SCENARIO=site      molecule (and the molecule stage of test) runs only this scenario
#   STAGES="lint unit" test runs only these stages (of: bootstrap lint unit syntax molecule)
# Logs of the test stages: .cache/test-logs/<stage>.log. docs/testbed.md explains the test bed.

SHELL := /bin/bash
VENV := $(CURDIR)/.venv
TEST := $(CURDIR)/scripts/test.sh

export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export PATH := $(VENV)/bin:$(PATH)
export SCENARIO
export STAGES

.DEFAULT_GOAL := help
.PHONY: help demo demo-clean check test bootstrap lint unit syntax molecule

help:
	@sed -n '/^#   make /s/^#   //p' $(firstword $(MAKEFILE_LIST))

# Only what lint, unit and syntax need (no Docker, no image); redone when the requirements change.
$(VENV)/.hubsite-ready: requirements.txt requirements.yml
	HUBSITE_BOOTSTRAP_STEPS="apt venv collections" $(CURDIR)/scripts/bootstrap.sh
	@touch $@

bootstrap:
	$(CURDIR)/scripts/bootstrap.sh

demo: bootstrap
	ansible-playbook -i inventories/demo playbooks/demo.yml

demo-clean: $(VENV)/.hubsite-ready
	ansible-playbook -i inventories/demo playbooks/demo.yml -e demo_state=absent

check: $(VENV)/.hubsite-ready
	ansible-playbook -i inventories/demo playbooks/check.yml

test:
	@TEST_LABEL="make test" $(TEST)

lint unit syntax: $(VENV)/.hubsite-ready
	@TEST_LABEL="make $@" STAGES=$@ $(TEST)

molecule: bootstrap
	@TEST_LABEL="make molecule" STAGES=molecule $(TEST)
