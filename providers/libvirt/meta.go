package libvirt

import (
	"bytes"
	"encoding/xml"
	"errors"
	"regexp"
	"strings"
	"time"

	golibvirt "github.com/digitalocean/go-libvirt"

	"github.com/drplan/drplan/providers"
)

// MetadataURI is the namespace of drplan's element in domain metadata;
// MetadataKey its prefix.
const (
	MetadataURI = "https://drplan.dev/libvirt/1"
	MetadataKey = "drplan"
)

// Folders and name prefixes, as the vSphere provider has them.
const (
	ReplicaFolder = "drplan-replicas"
	LockPrefix    = "drplan-lock+"
)

// Record is drplan's metadata on a domain: <drplan:vm>.
type Record struct {
	XMLName xml.Name `xml:"vm"`
	// Run is the run that created the domain (a drill copy).
	Run string `xml:"run,omitempty"`
	// Replica marks a replica domain: what it copies.
	Replica *ReplicaRecord `xml:"replica"`
	// Points are the replica's recovery points, oldest first (RFC 3339).
	Points []string `xml:"point"`
	// Pinned is the point a run fixed for its promotion, PinnedBy the run.
	Pinned   string `xml:"pinned,omitempty"`
	PinnedBy string `xml:"pinned-by,omitempty"`
	// Promoted is set on a VM a run promoted from a replica.
	Promoted *PromotedRecord `xml:"promoted"`
	// Suspended is the run that powered the VM off to make room.
	Suspended string `xml:"suspended,omitempty"`
	// Origin is the address (CIDR) the VM had where it came from.
	Origin string `xml:"origin,omitempty"`
	// Customize is a re-IP to apply through the guest agent once the
	// guest answers.
	Customize *IPRecord `xml:"customize"`
	// Lock is the holder of the lock a lock domain stands for.
	Lock *providers.LockHolder `xml:"lock"`
	// Volumes are the volumes (paths) the run created for the domain,
	// deleted with it.
	Volumes []string `xml:"volume"`
}

// ReplicaRecord says which protected VM a replica copies.
type ReplicaRecord struct {
	VM     string   `xml:"vm,attr"`
	Group  string   `xml:"group,attr"`
	Site   string   `xml:"site,attr"`
	Folder string   `xml:"folder,attr,omitempty"`
	IPs    []string `xml:"ip"`
	// Shipped says, per disk, what Ship last copied into the replica:
	// the replica's volume holds the protected disk as it was when the
	// overlay was created, so the next point ships only the overlay.
	Shipped []ShippedDisk `xml:"shipped"`
}

// ShippedDisk is one disk's shipping state (ReplicaRecord.Shipped).
type ShippedDisk struct {
	Dev string `xml:"dev,attr"`
	// Overlay is the protected disk's active overlay at the protected
	// site, created at the replica's last point.
	Overlay string `xml:"overlay,attr"`
	// Volume is the replica's volume at the recovery site.
	Volume string `xml:"volume,attr"`
}

// PromotedRecord says which run promoted a VM, from which point.
type PromotedRecord struct {
	Run   string `xml:"run,attr"`
	Point string `xml:"point,attr,omitempty"`
	From  string `xml:"from,attr,omitempty"`
}

// IPRecord is a pending re-IP.
type IPRecord struct {
	Address  string   `xml:"address,attr"`
	Gateway  string   `xml:"gateway,attr,omitempty"`
	DNS      []string `xml:"dns"`
	Hostname string   `xml:"hostname,attr,omitempty"`
}

func (r *Record) empty() bool {
	return r.Run == "" && r.Replica == nil && len(r.Points) == 0 && r.Pinned == "" && r.Promoted == nil &&
		r.Suspended == "" && r.Origin == "" && r.Customize == nil && r.Lock == nil && len(r.Volumes) == 0
}

// points parses the recorded points.
func (r *Record) points() []time.Time {
	var out []time.Time
	for _, p := range r.Points {
		if t, err := time.Parse(time.RFC3339Nano, p); err == nil {
			out = append(out, t)
		}
	}
	return out
}

func fmtTime(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

// recordFromDomainXML finds drplan's element in a domain's <metadata>
// inner XML; nil when there is none.
func recordFromMetadata(inner string) (*Record, error) {
	dec := xml.NewDecoder(strings.NewReader(inner))
	for {
		tok, err := dec.Token()
		if err != nil {
			return nil, nil
		}
		se, ok := tok.(xml.StartElement)
		if !ok {
			continue
		}
		if se.Name.Space == MetadataURI && se.Name.Local == "vm" {
			var r Record
			if err := dec.DecodeElement(&r, &se); err != nil {
				return nil, err
			}
			return &r, nil
		}
		if err := dec.Skip(); err != nil {
			return nil, nil
		}
	}
}

// readRecord reads a domain's record; an empty one when it has none.
func (s *Site) readRecord(h *host, d golibvirt.Domain) (*Record, error) {
	s.call()
	md, err := h.l.DomainGetMetadata(d, int32(golibvirt.DomainMetadataElement), golibvirt.OptString{MetadataURI}, golibvirt.DomainAffectConfig)
	if err != nil {
		var le golibvirt.Error
		if errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrNoDomainMetadata {
			return &Record{}, nil
		}
		return nil, err
	}
	var r Record
	if err := xml.Unmarshal([]byte(md), &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// writeRecord replaces a domain's record, in its persistent config and,
// when it runs, live.
func (s *Site) writeRecord(h *host, d golibvirt.Domain, r *Record) error {
	var md golibvirt.OptString
	if !r.empty() {
		var b bytes.Buffer
		r.XMLName = xml.Name{Local: "vm"}
		if err := xml.NewEncoder(&b).Encode(r); err != nil {
			return err
		}
		md = golibvirt.OptString{b.String()}
	}
	s.call()
	err := h.l.DomainSetMetadata(d, int32(golibvirt.DomainMetadataElement), md, golibvirt.OptString{MetadataKey}, golibvirt.OptString{MetadataURI},
		golibvirt.DomainAffectConfig|golibvirt.DomainAffectLive)
	var le golibvirt.Error
	if errors.As(err, &le) && golibvirt.ErrorNumber(le.Code) == golibvirt.ErrOperationInvalid {
		s.call()
		err = h.l.DomainSetMetadata(d, int32(golibvirt.DomainMetadataElement), md, golibvirt.OptString{MetadataKey}, golibvirt.OptString{MetadataURI},
			golibvirt.DomainAffectConfig)
	}
	return err
}

var elementRE = regexp.MustCompile(`<(/?)`)

// metadataXML is a record as a <metadata> child for a domain
// definition: libvirt keeps only elements with a namespace prefix, so the
// root is <drplan:vm xmlns:drplan="…">, as virsh metadata --key drplan
// writes it.
func metadataXML(r *Record) (string, error) {
	var b bytes.Buffer
	r.XMLName = xml.Name{Local: "vm"}
	if err := xml.NewEncoder(&b).Encode(r); err != nil {
		return "", err
	}
	// Every element in drplan's namespace, as libvirt writes it back.
	x := elementRE.ReplaceAllString(b.String(), "<${1}"+MetadataKey+":")
	return strings.Replace(x, "<"+MetadataKey+":vm>", "<"+MetadataKey+":vm xmlns:"+MetadataKey+"=\""+MetadataURI+"\">", 1), nil
}
