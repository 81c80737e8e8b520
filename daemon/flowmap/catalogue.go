package flowmap

import (
	"fmt"
	"strings"

	"github.com/septa-fw/septa/rules"
	"github.com/septa-fw/septa/rules/ir"
)

// Catalogue names ports: the built-in services of the policy language
// (ssh is tcp/22) and, for the map, the services of a policy.
type Catalogue struct {
	byPort  map[portKey]string
	ranges  []ir.Service // services with port ranges, in order
	builtin map[string][]ir.Port
}

type portKey struct {
	proto uint8
	port  uint16
}

// NewCatalogue returns the built-in services, overridden by the services
// of p when p is not nil (a policy may redefine a built-in name).
func NewCatalogue(p *ir.Policy) (*Catalogue, error) {
	builtin, err := builtinServices()
	if err != nil {
		return nil, err
	}
	c := &Catalogue{byPort: map[portKey]string{}, builtin: map[string][]ir.Port{}}
	for _, s := range builtin {
		c.builtin[s.Name] = s.Ports
	}
	add := func(svcs []ir.Service) {
		for _, s := range svcs {
			for _, port := range s.Ports {
				if port.First == port.Last && !port.AllPorts() {
					k := portKey{uint8(port.Proto), port.First}
					if _, ok := c.byPort[k]; !ok {
						c.byPort[k] = s.Name
					}
				} else if !port.AllPorts() {
					c.ranges = append(c.ranges, ir.Service{Name: s.Name, Ports: []ir.Port{port}})
				}
			}
		}
	}
	if p != nil {
		add(p.Services)
	}
	add(builtin)
	return c, nil
}

// builtinServices compiles a policy that names every built-in service, so
// that the catalogue is the one the policy compiler has, not a copy.
func builtinServices() ([]ir.Service, error) {
	names := rules.BuiltinServices()
	var b strings.Builder
	b.WriteString("[[rules]]\nname = \"catalogue\"\nfrom = \"any\"\nto = \"any\"\naction = \"allow\"\nservices = [")
	for i, n := range names {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%q", n)
	}
	b.WriteString("]\n")
	res, err := rules.Compile([]rules.File{{Name: "<builtin services>", Data: []byte(b.String())}}, rules.Options{})
	if err != nil {
		return nil, fmt.Errorf("flowmap: built-in services: %w", err)
	}
	return res.Policy.Services, nil
}

// Name returns the service name of a destination port ("ssh" for tcp/22),
// or "" when no service has it.
func (c *Catalogue) Name(proto uint8, port uint16) string {
	if n, ok := c.byPort[portKey{proto, port}]; ok {
		return n
	}
	for _, s := range c.ranges {
		p := s.Ports[0]
		if uint8(p.Proto) == proto && p.First <= port && port <= p.Last {
			return s.Name
		}
	}
	return ""
}

// Builtin returns the ports of a built-in service, nil when name is not
// one.
func (c *Catalogue) Builtin(name string) []ir.Port { return c.builtin[name] }

// PortString is a destination port as the policy language writes it
// ("tcp/5432", "icmp").
func PortString(proto uint8, port uint16) string {
	p := ir.Port{Proto: ir.Proto(proto), First: port, Last: port}
	if !p.Proto.HasPorts() {
		p.First, p.Last = 0, 0
	}
	return p.String()
}
