// Command etcd runs etcd's own entry point; a wrapper module is needed because etcd's server
// module cannot be built with `go install` (its go.mod has replace directives).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() {
	etcdmain.Main(os.Args)
}
