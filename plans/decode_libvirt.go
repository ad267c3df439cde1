package plans

import (
	"fmt"
	"net/url"
	"slices"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
)

// libvirtSchemes are the libvirt URI schemes of the QEMU driver that
// drplan accepts; which ones need a host is in libvirtRemote.
var libvirtSchemes = []string{"qemu", "qemu+ssh", "qemu+tcp", "qemu+tls", "qemu+unix"}

// libvirtRemote are the transports that reach another host and so need
// one named in the URI.
var libvirtRemote = []string{"qemu+ssh", "qemu+tcp", "qemu+tls"}

// decodeLibvirt decodes a site's libvirt block: uri is one URI or a list
// of them, one per host of the site. Each is checked as libvirt would
// read it.
func (l *loader) decodeLibvirt(b *hcl.Block, a attrs) *Libvirt {
	lv := &Libvirt{DeclRange: b.DefRange}
	at := a.m["uri"]
	if at == nil {
		return lv // hcl reported the missing argument
	}
	v, ok := l.eval(at.Expr, a.sc)
	if !ok {
		return lv
	}
	v, sensitive := l.unmark(v)
	defer func() {
		if sensitive { // a URI from a sensitive value is never printed
			for _, u := range lv.URIs {
				l.plan.secrets.Add(u)
			}
		}
	}()
	if v.Type() == cty.String {
		if v.IsNull() {
			l.errorf(at.Expr.Range(), "Missing libvirt URI", "uri is null. Give the URI of the site's libvirt daemon, for example uri = \"qemu+ssh://kvm-east-01/system\".")
			return lv
		}
		lv.URIs = []string{v.AsString()}
		lv.URIRanges = []hcl.Range{at.Expr.Range()}
	} else {
		list, err := toStrings(v)
		if err != nil {
			l.errorf(at.Expr.Range(), "Incorrect attribute value type", "uri must be a string or a list of strings: %v. Write uri = \"qemu+ssh://kvm-east-01/system\", or a list with one URI per host.", err)
			return lv
		}
		if len(list) == 0 {
			l.errorf(at.Expr.Range(), "No libvirt URI", "uri is an empty list. Give at least one URI, one per host of the site, for example uri = [\"qemu+ssh://kvm-east-01/system\"].")
		}
		lv.URIs = list
		for i := range list {
			lv.URIRanges = append(lv.URIRanges, a.elem("uri", i, len(list)))
		}
	}
	seen := map[string]int{}
	for i, u := range lv.URIs {
		if msg := CheckLibvirtURI(u); msg != "" {
			l.errorf(lv.URIRanges[i], "Invalid libvirt URI", "%s", msg)
			continue
		}
		if j, dup := seen[u]; dup {
			l.errorf(lv.URIRanges[i], "Duplicate libvirt URI", "URI %q is listed twice (first as element %d). List each host once.", u, j+1)
		}
		seen[u] = i
	}
	return lv
}

// CheckLibvirtURI checks a libvirt connection URI of the QEMU driver and
// returns what is wrong with it and how to fix it, or "" when it is fine.
// The rules are libvirt's (https://libvirt.org/uri.html): a transport of
// the qemu driver; a host for the remote transports (ssh, tcp, tls) and
// none for the local unix socket; the path /system or /session.
func CheckLibvirtURI(s string) string {
	const example = ` For example "qemu:///system" (this host), "qemu+ssh://root@kvm-east-01/system" or "qemu+tls://kvm-east-01.example.com/system".`
	if strings.TrimSpace(s) == "" {
		return "The URI is empty." + example
	}
	u, err := url.Parse(s)
	if err != nil {
		return fmt.Sprintf("%q is not a URI: %v.%s", s, unwrapURLError(err), example)
	}
	if !slices.Contains(libvirtSchemes, u.Scheme) {
		if u.Scheme == "" {
			return fmt.Sprintf("%q has no scheme.%s", s, example)
		}
		return fmt.Sprintf("%q uses scheme %q; drplan drives libvirt's QEMU driver, whose schemes are %s.%s", s, u.Scheme, strings.Join(libvirtSchemes, ", "), example)
	}
	if u.Opaque != "" {
		return fmt.Sprintf("%q has no \"//\" after the scheme; write %s:///system for this host, or %s://HOST/system.%s", s, u.Scheme, u.Scheme, example)
	}
	remote := slices.Contains(libvirtRemote, u.Scheme)
	switch {
	case remote && u.Hostname() == "":
		return fmt.Sprintf("%q names no host: transport %s reaches another machine, so write %s://HOST/system (a user may come first: USER@HOST).", s, strings.TrimPrefix(u.Scheme, "qemu+"), u.Scheme)
	case u.Scheme == "qemu+unix" && u.Host != "":
		return fmt.Sprintf("%q names host %q, but qemu+unix talks to the local daemon's socket. Write qemu+unix:///system, or qemu+ssh://%s/system to reach that host.", s, u.Host, u.Host)
	}
	if _, set := u.User.Password(); set {
		return fmt.Sprintf("%q carries a password, which libvirt never reads from a URI (and drplan would print). Use an SSH key (keyfile=… or the agent), or TLS client certificates.", redactURI(u))
	}
	if u.Path != "/system" && u.Path != "/session" {
		return fmt.Sprintf("%q has path %q; the QEMU driver's are /system (the system daemon, as root) and /session (a user's own daemon).%s", s, u.Path, example)
	}
	return ""
}

func unwrapURLError(err error) error {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err
	}
	return err
}

func redactURI(u *url.URL) string {
	c := *u
	c.User = url.UserPassword(u.User.Username(), "xxxxx")
	return c.String()
}
