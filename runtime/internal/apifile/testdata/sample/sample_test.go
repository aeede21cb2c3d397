package sample

// Z is in a test file: not listed.
const Z = 1
