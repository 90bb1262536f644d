// Command coredns is CoreDNS with the plugins of the local platform's cluster DNS only.
//
// Upstream's main imports every plugin; this one imports and enables only what the platform's
// Corefile uses, the way CoreDNS documents custom builds (`dnsserver.SetDirectives`), so the
// build stays small and no forwarding plugin exists to send a query off the machine.
package main

import (
	"log"

	"github.com/coredns/coredns/core/dnsserver"
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/ready"
	_ "github.com/coredns/coredns/plugin/template"
)

func main() {
	// In execution order, as upstream's plugin.cfg orders them.
	directives := []string{"bind", "ready", "health", "errors", "cache", "template", "kubernetes"}
	if err := dnsserver.SetDirectives(directives); err != nil {
		log.Fatal(err)
	}
	coremain.Run()
}
