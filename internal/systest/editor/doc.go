// Package editor checks that proxygen's JSON Schema works in a real
// editor's language server: the test starts yaml-language-server over LSP
// stdio, opens specs whose modeline names the local schema/schema.json, and
// asserts the diagnostics an editor would show.
//
// The package has no code of its own; see the _test.go files.
package editor
