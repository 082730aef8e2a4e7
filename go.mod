module github.com/lokero/lokero

go 1.26
