// Package adopt holds the tests of a new user's path through proxygen: the
// README's install lines run in a fresh module outside the repository, every
// Go snippet of the README compiles, the runtime module stays standard
// library only at its go line, and the repository points at no file outside
// itself. Only the fresh module, which `go get -tool` and `go mod tidy`
// write as a user's would, runs with -mod=mod (see moduleEnv); it must not
// build the repository's own modules with flags of its own, nor use the
// network beyond the configured module proxy. It has no code of its own.
package adopt
