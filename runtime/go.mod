module github.com/proxygen-go/proxygen/runtime

go 1.22
