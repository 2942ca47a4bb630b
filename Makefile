# osva: prebuilt Python virtualenvs for OpenStack services.
# `make demo` and `make test` set up everything they need on a fresh Debian 12 machine.

SHELL := /bin/bash
CONFIGURATION ?= Release

.PHONY: env build test ansible engines demo bench faults fuzz trust-report images publish-installer clean

env:
	./setup/ensure-env.sh

build:
	dotnet build OsVenvArtifacts.sln -c $(CONFIGURATION) --nologo -v q

test: env
	./setup/run-tests.sh

demo: env
	./setup/demo.sh

bench: env
	./setup/bench.sh

# SIGKILL the real installer at random points of every stage, the publisher mid-upload, and fill the disk at every
# stage (make test runs a few of each; this runs at least 50 kills per stage), then print the trust report of this run.
FAULTS_LOG := $(CURDIR)/TestResults/faults/trust.jsonl
faults: env publish-installer
	rm -rf TestResults/faults
	OSVA_TRUST_LOG=$(FAULTS_LOG) OSVA_INSTALLER_BINARY=$$PWD/out/installer/osva-install OSVA_FAULT_KILLS=50 dotnet test tests/Installer.Tests -c $(CONFIGURATION) --nologo \
		--filter "FullyQualifiedName~ActivationCrashTests|FullyQualifiedName~DiskFullTests" --logger "console;verbosity=detailed"
	OSVA_TRUST_LOG=$(FAULTS_LOG) OSVA_FAULT_KILLS=50 dotnet test tests/Distributor.Tests -c $(CONFIGURATION) --nologo \
		--filter "FullyQualifiedName~PublishCrashTests" --logger "console;verbosity=detailed"
	OSVA_TRUST_LOG=$(FAULTS_LOG) ./setup/trust-report.sh

# The trust report of the last make test (TestResults/trust.jsonl): hostile cases, fuzz runs, kills, full disks.
trust-report:
	./setup/trust-report.sh

# Mutation fuzzing of the installer's parsers (docs/fuzzing.md; make test runs a bounded CI share with seed 1).
# A fresh seed unless SEED=n; ITERATIONS per target, at most BUDGET seconds each; TARGET=t and ITERATION=i replay one input.
fuzz:
	@seed=$${SEED:-$$((RANDOM * 32768 + RANDOM))}; echo "make fuzz: seed $$seed (replay: make fuzz SEED=$$seed)"; \
	OSVA_FUZZ_SEED=$$seed OSVA_FUZZ_ITERATIONS=$(or $(ITERATIONS),200000) OSVA_FUZZ_SECONDS=$(or $(BUDGET),120) \
	OSVA_FUZZ_TARGET=$(TARGET) OSVA_FUZZ_ITERATION=$(ITERATION) \
	dotnet test tests/Fuzz.Tests -c $(CONFIGURATION) --nologo --logger "console;verbosity=detailed"

# The osva.venv role over three systemd host containers through Ansible (minutes; make test leaves it out). Prints the play recaps.
ansible: env publish-installer
	OSVA_INSTALLER_BINARY=$$PWD/out/installer/osva-install dotnet test tests/Installer.Tests -c $(CONFIGURATION) --nologo \
		--filter "Category=AnsibleFleet" --logger "console;verbosity=detailed"

# Builds spread over two Docker engines (a second dockerd started by setup/second-engine.sh; minutes, so make test
# leaves it out and .ci/run runs it after).
engines: env
	dotnet test tests/Builder.Tests -c $(CONFIGURATION) --nologo --filter "Category=MultiEngine" --logger "console;verbosity=normal"

images: env
	dotnet run --project builder -c $(CONFIGURATION) -- image debian-12

publish-installer:
	dotnet publish installer -c $(CONFIGURATION) -r linux-x64 --nologo -o out/installer

clean:
	rm -rf out TestResults .demo .bench
	dotnet clean OsVenvArtifacts.sln --nologo -v q
