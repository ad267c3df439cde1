package operations

import (
	"context"
	"fmt"
	"net"

	"github.com/drplan/drplan/plans"
	"github.com/drplan/drplan/simulate"
)

// SimState is what sim serve -state writes: how to reach each simulated
// site.
type SimState struct {
	Plan  string         `json:"plan"`
	Sites []SimSiteState `json:"sites"`
	// Services is the loopback host:port of the world's service
	// gateway: a live run with DRPLAN_SIM_SERVICES set to it has its http
	// and tcp checks answered by the simulated VMs' services.
	Services string `json:"services"`
}

// SimSiteState describes one simulated vCenter.
type SimSiteState struct {
	Name       string `json:"name"`
	Datacenter string `json:"datacenter"`
	URL        string `json:"url"` // with credentials, as GOVC_URL takes it
	Username   string `json:"username"`
	Password   string `json:"password"`
	Thumbprint string `json:"thumbprint"`
	// Certificate is the PEM certificate of the endpoint, for clients
	// that verify TLS against a CA file (GOVC_TLS_CA_CERTS).
	Certificate string `json:"certificate"`
}

// Served is a plan's simulated world served as vSphere endpoints on
// loopback, with its service gateway (what drplan sim serve runs).
type Served struct {
	World *simulate.World
	State SimState
	gw    interface{ Close() error }
}

// Serve builds the simulated world of plan p and serves it: one vSphere
// endpoint per site and the service gateway, all on loopback. Its
// faults count from now. The caller closes it.
func Serve(ctx context.Context, p *plans.Plan) (*Served, error) {
	w, err := simulate.New(ctx, p, simulate.Options{})
	if err != nil {
		return nil, fmt.Errorf("cannot build the simulated world: %v", err)
	}
	w.Begin() // site_down faults count from now
	// The service gateway: runs in other processes reach the simulated
	// VMs' services through it, on loopback only.
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("cannot listen for the service gateway: %v", err)
	}
	s := &Served{World: w, gw: w.ServeChecks(gl), State: SimState{Plan: p.Name, Services: gl.Addr().String()}}
	for _, site := range w.Sites {
		pass, _ := site.URL.User.Password()
		s.State.Sites = append(s.State.Sites, SimSiteState{
			Name: site.Name, Datacenter: site.Datacenter, URL: site.URL.String(),
			Username: site.URL.User.Username(), Password: pass,
			Thumbprint: site.Thumbprint, Certificate: string(site.CertificatePEM),
		})
	}
	return s, nil
}

// Close stops the gateway and the world.
func (s *Served) Close() {
	s.gw.Close()
	s.World.Close()
}
