// Package editor checks that proxygen's JSON Schema works in a real
// editor's language server: the test starts yaml-language-server over LSP
// stdio, opens specs whose modeline names the local schema/schema.json, and
// asserts the diagnostics an editor would show. It must not test the
// schema's rules themselves (schema/ does) nor write outside its temporary
// directory. It has no code of its own.
package editor
