// Package golden is the root of the golden cases' module; each case folder
// is a package of its own: spec.yaml in, proxygen.go (or stderr.golden) out,
// compared by cmd/proxygen's TestGolden. Its files must not be edited by hand
// (`go test ./cmd/proxygen -run TestGolden -update` rewrites them), and the
// module must require the runtime only, so that `go vet ./...` here proves
// the generated code builds against it alone.
package golden
