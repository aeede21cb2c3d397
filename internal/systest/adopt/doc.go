// Package adopt holds the tests of a new user's path through proxygen: the
// README's install lines run in a fresh module outside the repository, every
// Go snippet of the README compiles, the runtime module stays standard
// library only at its go line, and the repository points at no file outside
// itself. It has no code of its own.
package adopt
