// Package sample is apifile's test input.
package sample

import (
	"context"
	"net"
)

// Kind is a kind.
type Kind int

// The kinds.
const (
	A Kind = iota
	B
	c
)

// Untyped is untyped.
const Untyped = 3

// V is a var.
var V, w = 1, 2

// T has fields.
type T struct {
	Name     string
	Dial     func(ctx context.Context, network, addr string) (net.Conn, error)
	internal int
	Kind
}

// I is an interface.
type I interface {
	M(x, y int) (n int, err error)
	hidden()
}

// F is a func.
func F(a, b string, c ...int) *T { return nil }

// Get is a method.
func (t *T) Get(k string) (v string, ok bool) { return "", false }

func (t *T) private() {}

type u struct{}

// Exported on an unexported type: not listed.
func (u) Exported() {}
