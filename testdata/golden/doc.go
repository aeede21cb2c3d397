// Package golden is the root of the golden cases' module; each case folder
// is a package of its own.
package golden
