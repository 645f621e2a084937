# Shortcuts for ferry's everyday commands. CI runs .ci/run.

.PHONY: test vet fmt build docs runbooks snapshot demo mutants

# The test command, exactly as the README gives it.
test:
	go test -race -timeout 30m ./...

vet:
	go vet ./...

# Lists files gofmt would change; fails if there are any.
fmt:
	@out=$$(gofmt -l .); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

build:
	CGO_ENABLED=0 go build -trimpath -o ferry .

# Manual pages and shell completions into build/docs (not committed); the
# snapshot makes them itself.
docs:
	go run ./cmd/gendocs build/docs

# After editing a built-in runbook in assets/: rewrite its parsed copy
# (wizard/builtin_snapshot.go), which ferry loads instead of parsing the
# YAML at every command; TestBuiltinSnapshots fails until this is run.
runbooks:
	go test ./wizard -run '^TestBuiltinSnapshots$$' -count=1 -update-builtin

# Static binaries, .deb and .rpm packages into dist/ (not committed).
snapshot:
	goreleaser release --snapshot --clean

demo:
	go run . demo greenarrow

# Mutation testing of the guard files (gremlins; slow, not in CI): efficacy
# per file, and every mutant no test noticed. See .ci/mutants/run.
mutants:
	.ci/mutants/run
