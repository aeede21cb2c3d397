// Package leaks holds the system tests whose point is that a credential
// appears nowhere: one canary password (testenv.Canary) runs through every
// place it could escape (spec validation errors of schema.Load and the
// proxygen CLI, proxy URL parse errors, environment overlay errors, proxy
// authentication failures, recovered panics, `proxygen explain`, generated
// code, and every log/slog line the runtime writes) and testenv.NoCanary
// finds it, or its base64, URL-escaped or case-folded forms, nowhere. It
// must not relax a check to let a surface pass (a surface that cannot be
// checked fails), nor start real proxy servers. It has no code of its own.
package leaks
