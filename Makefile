# osva: prebuilt Python virtualenvs for OpenStack services.
# `make demo` and `make test` set up everything they need on a fresh Debian 12 machine.

SHELL := /bin/bash
CONFIGURATION ?= Release

.PHONY: env build test ansible demo bench faults images publish-installer clean

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

# The osva.venv role over three systemd host containers through Ansible (minutes; make test leaves it out). Prints the play recaps.
ansible: env publish-installer
	OSVA_INSTALLER_BINARY=$$PWD/out/installer/osva-install dotnet test tests/Installer.Tests -c $(CONFIGURATION) --nologo \
		--filter "Category=AnsibleFleet" --logger "console;verbosity=detailed"

images: env
	dotnet run --project builder -c $(CONFIGURATION) -- image debian-12

publish-installer:
	dotnet publish installer -c $(CONFIGURATION) -r linux-x64 --nologo -o out/installer

clean:
	rm -rf out TestResults .demo .bench
	dotnet clean OsVenvArtifacts.sln --nologo -v q
