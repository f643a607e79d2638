module github.com/praxisgate/praxisgate

go 1.26.8
