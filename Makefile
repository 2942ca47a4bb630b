# osva: prebuilt Python virtualenvs for OpenStack services.
# `make demo` and `make test` set up everything they need on a fresh Debian 12 machine.

SHELL := /bin/bash
CONFIGURATION ?= Release

.PHONY: env build test demo bench images publish-installer clean

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

images: env
	dotnet run --project builder -c $(CONFIGURATION) -- image debian-12

publish-installer:
	dotnet publish installer -c $(CONFIGURATION) -r linux-x64 --nologo -o out/installer

clean:
	rm -rf out TestResults .demo .bench
	dotnet clean OsVenvArtifacts.sln --nologo -v q
