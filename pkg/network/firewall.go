package network

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"strings"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"golang.org/x/sys/unix"
)

// TableName is the engine's nftables table, of the inet family. Every
// rule in it carries a comment saying what it belongs to: "engine net
// BRIDGE" for a network's NAT and isolation, "engine ctr ID PROTO IP PORT"
// for a published port.
const TableName = "engine"

// firewall is an nftables connection with the engine's table and base chains.
type firewall struct {
	c                   *nftables.Conn
	t                   *nftables.Table
	pre, out, post, fwd *nftables.Chain
	// based and dirty say whether the table was queued, and any change.
	based, dirty bool
}

// openFirewall connects to nftables in the namespace at nsPath (the
// caller's when empty). Reading changes nothing; the first change queued
// also queues the table and its base chains, so that a ruleset with
// nothing to change costs no nftables transaction (each commit waits for
// the kernel's RCU grace period).
func openFirewall(nsPath string) (*firewall, error) {
	f := &firewall{t: &nftables.Table{Name: TableName, Family: nftables.TableFamilyINet}}
	// The socket is made on a thread inside the namespace (nftables'
	// WithNetNSFd would switch back to the engine's namespace afterwards,
	// which a rootless engine may not do) and kept for every later call.
	var c *nftables.Conn
	err := inNetNS(nsPath, func() (err error) {
		c, err = nftables.New(nftables.AsLasting())
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("nftables: %w", err)
	}
	f.c = c
	nat, filter := nftables.ChainTypeNAT, nftables.ChainTypeFilter
	f.pre = &nftables.Chain{Name: "prerouting", Table: f.t, Type: nat, Hooknum: nftables.ChainHookPrerouting, Priority: nftables.ChainPriorityNATDest}
	f.out = &nftables.Chain{Name: "output", Table: f.t, Type: nat, Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityNATDest}
	f.post = &nftables.Chain{Name: "postrouting", Table: f.t, Type: nat, Hooknum: nftables.ChainHookPostrouting, Priority: nftables.ChainPriorityNATSource}
	f.fwd = &nftables.Chain{Name: "forward", Table: f.t, Type: filter, Hooknum: nftables.ChainHookForward, Priority: nftables.ChainPriorityFilter}
	return f, nil
}

// queueBase queues the table and its base chains, once.
func (f *firewall) queueBase() {
	if f.based {
		return
	}
	f.based = true
	f.c.AddTable(f.t)
	for _, ch := range []*nftables.Chain{f.pre, f.out, f.post, f.fwd} {
		f.c.AddChain(ch)
	}
}

func (f *firewall) close() {
	_ = f.c.CloseLasting()
}

// flush commits the queued changes, if any.
func (f *firewall) flush(what string) error {
	if !f.dirty {
		return nil
	}
	if err := f.c.Flush(); err != nil {
		return fmt.Errorf("nftables: %s: %w", what, err)
	}
	return nil
}

func comment(s string) []byte { return userdata.AppendString(nil, userdata.TypeComment, s) }

func ruleComment(r *nftables.Rule) string {
	s, _ := userdata.GetString(r.UserData, userdata.TypeComment)
	return s
}

func netTag(bridge string) string { return "engine net " + bridge }
func ctrTag(id string) string     { return "engine ctr " + id + " " }

// chainRules lists a base chain; a table not made yet has no rules.
func (f *firewall) chainRules(ch *nftables.Chain) ([]*nftables.Rule, error) {
	rs, err := f.c.GetRules(f.t, ch)
	if err != nil {
		if _, terr := f.c.ListTableOfFamily(TableName, nftables.TableFamilyINet); terr != nil {
			return nil, nil //nolint:nilerr // no table: nothing to list
		}
		return nil, fmt.Errorf("nftables: list chain %s: %w", ch.Name, err)
	}
	return rs, nil
}

// rules returns the rules of the base chains whose comment has prefix.
func (f *firewall) rules(prefix string) ([]*nftables.Rule, error) {
	var out []*nftables.Rule
	for _, ch := range []*nftables.Chain{f.pre, f.out, f.post, f.fwd} {
		rs, err := f.chainRules(ch)
		if err != nil {
			return nil, err
		}
		for _, r := range rs {
			if strings.HasPrefix(ruleComment(r), prefix) {
				out = append(out, r)
			}
		}
	}
	return out, nil
}

// queueDelete queues the deletion of the rules whose comment has prefix.
func (f *firewall) queueDelete(prefix string) error {
	rs, err := f.rules(prefix)
	if err != nil {
		return err
	}
	for _, r := range rs {
		if err := f.c.DelRule(r); err != nil {
			return fmt.Errorf("nftables: %w", err)
		}
		f.dirty = true
	}
	return nil
}

func (f *firewall) add(ch *nftables.Chain, tag string, exprs ...[]expr.Any) {
	f.queueBase()
	f.dirty = true
	var all []expr.Any
	for _, e := range exprs {
		all = append(all, e...)
	}
	f.c.AddRule(&nftables.Rule{Table: f.t, Chain: ch, Exprs: all, UserData: comment(tag)})
}

// hasNetwork reports whether the network rules of bridge are in place.
func (f *firewall) hasNetwork(bridge string) (bool, error) {
	rs, err := f.chainRules(f.post)
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if ruleComment(r) == netTag(bridge) {
			return true, nil
		}
	}
	return false, nil
}

// queueNetwork queues n's rules, replacing any it has: masquerade of
// traffic leaving its subnets (unless internal), of host loopback traffic
// sent to published ports, and of hairpin traffic; for an internal network,
// drops of whatever would cross its bridge.
func (f *firewall) queueNetwork(n *Network) error {
	tag := netTag(n.Interface)
	if err := f.queueDelete(tag); err != nil {
		return err
	}
	masq := []expr.Any{&expr.Masq{}}
	br := n.Interface
	if !n.Internal {
		for _, s := range n.Subnets {
			f.add(f.post, tag, family(s.Subnet.Addr().Is6()),
				matchPrefix(s.Subnet, true, expr.CmpOpEq), matchPrefix(s.Subnet, false, expr.CmpOpNeq), masq)
		}
	}
	f.add(f.post, tag, family(false), matchPrefix(netip.MustParsePrefix("127.0.0.0/8"), true, expr.CmpOpEq),
		matchIfname(expr.MetaKeyOIFNAME, br, expr.CmpOpEq), masq)
	f.add(f.post, tag, matchIfname(expr.MetaKeyIIFNAME, br, expr.CmpOpEq), matchIfname(expr.MetaKeyOIFNAME, br, expr.CmpOpEq),
		matchDNAT(), masq)
	if n.Internal {
		drop := []expr.Any{&expr.Verdict{Kind: expr.VerdictDrop}}
		f.add(f.fwd, tag, matchIfname(expr.MetaKeyIIFNAME, br, expr.CmpOpEq), matchIfname(expr.MetaKeyOIFNAME, br, expr.CmpOpNeq), drop)
		f.add(f.fwd, tag, matchIfname(expr.MetaKeyOIFNAME, br, expr.CmpOpEq), matchIfname(expr.MetaKeyIIFNAME, br, expr.CmpOpNeq), drop)
	}
	return nil
}

// queuePorts queues DNAT rules from the host ports of ports to the
// container's addresses (one of each family at most), in prerouting for
// traffic from outside and in output for the host's own.
func (f *firewall) queuePorts(ctr string, ports []PortMapping, addrs []netip.Addr) {
	for _, p := range ports {
		for i := uint16(0); i < p.Range; i++ {
			hp, cp := p.HostPort+i, p.ContainerPort+i
			for _, a := range addrs {
				if p.HostIP.IsValid() && p.HostIP.Is6() != a.Is6() {
					continue
				}
				hostIP := "*"
				var match []expr.Any
				if p.HostIP.IsValid() {
					hostIP = p.HostIP.String()
					match = matchPrefix(netip.PrefixFrom(p.HostIP, p.HostIP.BitLen()), false, expr.CmpOpEq)
				}
				tag := fmt.Sprintf("%s%s %s %d", ctrTag(ctr), p.Protocol, hostIP, hp)
				for _, ch := range []*nftables.Chain{f.pre, f.out} {
					f.add(ch, tag, family(a.Is6()), matchLocal(), match, matchPort(p.Protocol, hp), dnat(a, cp))
				}
			}
		}
	}
}

// publishedPorts returns the host ports the table's DNAT rules publish,
// as "PROTO PORT" with the container that owns each.
func (f *firewall) publishedPorts() (map[string]string, error) {
	rs, err := f.chainRules(f.pre)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, r := range rs {
		fields := strings.Fields(ruleComment(r))
		if len(fields) == 6 && fields[1] == "ctr" {
			out[fields[3]+" "+fields[5]] = fields[2]
		}
	}
	return out, nil
}

func family(v6 bool) []expr.Any {
	fam := byte(unix.NFPROTO_IPV4)
	if v6 {
		fam = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyNFPROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{fam}},
	}
}

// matchPrefix matches the source (src) or destination address against p.
// The caller matches the family first.
func matchPrefix(p netip.Prefix, src bool, op expr.CmpOp) []expr.Any {
	off, l := uint32(16), uint32(4)
	if src {
		off = 12
	}
	if p.Addr().Is6() {
		off, l = 24, 16
		if src {
			off = 8
		}
	}
	out := []expr.Any{&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: l}}
	if p.Bits() < p.Addr().BitLen() {
		out = append(out, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: l,
			Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen()), Xor: make([]byte, l)})
	}
	return append(out, &expr.Cmp{Op: op, Register: 1, Data: p.Masked().Addr().AsSlice()})
}

func matchIfname(key expr.MetaKey, name string, op expr.CmpOp) []expr.Any {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, name)
	return []expr.Any{&expr.Meta{Key: key, Register: 1}, &expr.Cmp{Op: op, Register: 1, Data: b}}
}

// matchDNAT matches connections whose destination was rewritten.
func matchDNAT() []expr.Any {
	return []expr.Any{
		&expr.Ct{Key: expr.CtKeySTATUS, Register: 1},
		&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
			Mask: binaryutil.NativeEndian.PutUint32(0x20), Xor: make([]byte, 4)}, // IPS_DST_NAT
		&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
	}
}

// matchLocal matches packets to an address of the host ("fib daddr type local").
func matchLocal() []expr.Any {
	return []expr.Any{
		&expr.Fib{Register: 1, FlagDADDR: true, ResultADDRTYPE: true},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binaryutil.NativeEndian.PutUint32(unix.RTN_LOCAL)},
	}
}

func matchPort(proto string, port uint16) []expr.Any {
	num := map[string]byte{"tcp": unix.IPPROTO_TCP, "udp": unix.IPPROTO_UDP, "sctp": unix.IPPROTO_SCTP}[proto]
	return []expr.Any{
		&expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{num}},
		&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: 2, Len: 2},
		&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, port)},
	}
}

func dnat(a netip.Addr, port uint16) []expr.Any {
	fam := uint32(unix.NFPROTO_IPV4)
	if a.Is6() {
		fam = unix.NFPROTO_IPV6
	}
	return []expr.Any{
		&expr.Immediate{Register: 1, Data: a.AsSlice()},
		&expr.Immediate{Register: 2, Data: binary.BigEndian.AppendUint16(nil, port)},
		&expr.NAT{Type: expr.NATTypeDestNAT, Family: fam, RegAddrMin: 1, RegProtoMin: 2, Specified: true},
	}
}
