// Module golden holds proxygen's end-to-end golden cases: one folder per
// case, spec.yaml in, proxygen.go (or stderr.golden) out. The positive cases
// are built and vetted by cmd/proxygen's tests.
module github.com/proxygen-go/proxygen/testdata/golden

go 1.26.0

require github.com/proxygen-go/proxygen/runtime v0.0.0

replace github.com/proxygen-go/proxygen/runtime => ../../runtime
