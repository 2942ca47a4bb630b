# osva: prebuilt Python virtualenvs for OpenStack services.
# `make demo` and `make test` set up everything they need on a fresh Debian 12 machine.

SHELL := /bin/bash
CONFIGURATION ?= Release

.PHONY: env build test demo bench faults fuzz images publish-installer clean

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

# SIGKILL the real installer at random points of switch and rollback (make test runs 10 kills; this runs 200).
faults: env publish-installer
	OSVA_INSTALLER_BINARY=$$PWD/out/installer/osva-install OSVA_FAULT_KILLS=200 dotnet test tests/Installer.Tests -c $(CONFIGURATION) --nologo \
		--filter "FullyQualifiedName~ActivationCrashTests" --logger "console;verbosity=detailed"

# Mutation fuzzing of the installer's parsers (docs/fuzzing.md; make test runs a bounded CI share with seed 1).
# A fresh seed unless SEED=n; ITERATIONS per target, at most BUDGET seconds each; TARGET=t and ITERATION=i replay one input.
fuzz:
	@seed=$${SEED:-$$((RANDOM * 32768 + RANDOM))}; echo "make fuzz: seed $$seed (replay: make fuzz SEED=$$seed)"; \
	OSVA_FUZZ_SEED=$$seed OSVA_FUZZ_ITERATIONS=$(or $(ITERATIONS),200000) OSVA_FUZZ_SECONDS=$(or $(BUDGET),120) \
	OSVA_FUZZ_TARGET=$(TARGET) OSVA_FUZZ_ITERATION=$(ITERATION) \
	dotnet test tests/Fuzz.Tests -c $(CONFIGURATION) --nologo --logger "console;verbosity=detailed"

images: env
	dotnet run --project builder -c $(CONFIGURATION) -- image debian-12

publish-installer:
	dotnet publish installer -c $(CONFIGURATION) -r linux-x64 --nologo -o out/installer

clean:
	rm -rf out TestResults .demo .bench
	dotnet clean OsVenvArtifacts.sln --nologo -v q
