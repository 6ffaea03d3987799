// cilium-verdict: Cilium's own policy engine as a test oracle for `netpol reach`.
//
// Pinned to github.com/cilium/cilium v1.20.2 (see go.mod; `cilium-verdict --version`).
//
//	cilium-verdict POLICY_DIR INVENTORY QUERIES
//
// POLICY_DIR: a folder (or one file) of YAML: CiliumNetworkPolicy and
// CiliumClusterwideNetworkPolicy (cilium.io/v2, parsed by Cilium's own
// `(*CiliumNetworkPolicy).Parse` / `(*CiliumClusterwideNetworkPolicy).Parse`) and
// networking.k8s.io/v1 NetworkPolicy (parsed by Cilium's `k8s.ParseNetworkPolicy`).
// INVENTORY: netpol's inventory YAML (namespaces, pods, fqdns, cluster).
// QUERIES: one `FROM TO PORT/PROTO` per line (blank lines and `#` comments skipped).
//
// For each query it prints `FROM TO PORT/PROTO ALLOWED|DENIED`, in order. The verdict follows
// `policy.LookupFlow` (pkg/policy/lookup.go), the helper Cilium's own tests use: it resolves the
// selector policy of each identity, distills it to a map state and looks up the egress key at
// the source and the ingress key at the destination (here each identity's distilled policy is
// computed once per run). A side whose endpoint is not a local
// Cilium endpoint (world, ip:, remote-node, kube-apiserver, unmanaged, cluster) has no policy
// of its own and is not enforced, as in netpol.
//
// Exit codes: 0 every query evaluated, 2 bad input (a one-line error on stderr).
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"math"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strconv"
	"strings"

	k8syaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/cilium/cilium/pkg/endpoint/regeneration"
	"github.com/cilium/cilium/pkg/identity"
	"github.com/cilium/cilium/pkg/identity/identitymanager"
	"github.com/cilium/cilium/pkg/k8s"
	k8sConst "github.com/cilium/cilium/pkg/k8s/apis/cilium.io"
	cilium_v2 "github.com/cilium/cilium/pkg/k8s/apis/cilium.io/v2"
	slim_networkingv1 "github.com/cilium/cilium/pkg/k8s/slim/k8s/api/networking/v1"
	"github.com/cilium/cilium/pkg/labels"
	"github.com/cilium/cilium/pkg/option"
	"github.com/cilium/cilium/pkg/policy"
	"github.com/cilium/cilium/pkg/policy/api"
	policytypes "github.com/cilium/cilium/pkg/policy/types"
	policyutils "github.com/cilium/cilium/pkg/policy/utils"
	testidentity "github.com/cilium/cilium/pkg/testutils/identity"
	testpolicy "github.com/cilium/cilium/pkg/testutils/policy"
	"github.com/cilium/cilium/pkg/u8proto"
)

// PinnedCiliumVersion is the github.com/cilium/cilium module version this harness is built
// against (go.mod). build.sh compares `--version` output against it.
const PinnedCiliumVersion = "v1.20.2"

const usage = "usage: cilium-verdict POLICY_DIR INVENTORY QUERIES  |  cilium-verdict --version"

type badInput struct{ msg string }

func (e badInput) Error() string { return e.msg }

func fail(format string, a ...any) error { return badInput{fmt.Sprintf(format, a...)} }

// ---- inventory ---------------------------------------------------------------------------

type inventory struct {
	Namespaces map[string]struct {
		Labels map[string]string `json:"labels"`
	} `json:"namespaces"`
	Pods []struct {
		Namespace string            `json:"namespace"`
		Name      string            `json:"name"`
		Labels    map[string]string `json:"labels"`
	} `json:"pods"`
	FQDNs   map[string]any `json:"fqdns"`
	Cluster string         `json:"cluster"`
}

func loadInventory(path string) (*inventory, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fail("%s: cannot read inventory: %v", path, err)
	}
	inv := &inventory{}
	if err := yaml.UnmarshalStrict(data, inv); err != nil {
		return nil, fail("%s: bad inventory: %v", path, err)
	}
	if inv.Cluster == "" {
		inv.Cluster = "default"
	}
	return inv, nil
}

// ---- identities --------------------------------------------------------------------------

type endpoint struct {
	id *identity.Identity
	// local: a Cilium endpoint on this node with a policy of its own (pods, host, health,
	// init, ingress). Other peers (world, CIDRs, remote nodes, kube-apiserver, unmanaged,
	// the cluster aggregate) are never a policy subject: their side is not enforced.
	local bool
}

type world struct {
	inv     *inventory
	idmap   identity.IdentityMap
	byLabel map[string]*identity.Identity
	nextPod identity.NumericIdentity
	nextIP  identity.NumericIdentity
	pods    map[string]*identity.Identity // "ns/name"
}

// podLabels mirrors netpol/reach/endpoints.py `pod_identity`: the pod's labels (source k8s),
// io.kubernetes.pod.namespace, io.cilium.k8s.namespace.labels.<k> for every namespace label
// (kubernetes.io/metadata.name included) and io.cilium.k8s.policy.cluster.
func podLabels(ns string, pod map[string]string, nsLabels map[string]string, cluster string) labels.LabelArray {
	lbls := labels.Labels{}
	add := func(k, v string) { lbls[k] = labels.NewLabel(k, v, labels.LabelSourceK8s) }
	for k, v := range pod {
		add(k, v)
	}
	add(k8sConst.PodNamespaceLabel, ns)
	add(k8sConst.PodNamespaceMetaLabelsPrefix+"kubernetes.io/metadata.name", ns)
	for k, v := range nsLabels {
		add(k8sConst.PodNamespaceMetaLabelsPrefix+k, v)
	}
	add(k8sConst.PolicyLabelCluster, cluster)
	return lbls.LabelArray()
}

func (w *world) intern(lbls labels.LabelArray, next *identity.NumericIdentity) *identity.Identity {
	key := lbls.String()
	if id, ok := w.byLabel[key]; ok {
		return id
	}
	id := identity.NewIdentityFromLabelArray(*next, lbls)
	*next++
	w.byLabel[key] = id
	w.idmap[id.ID] = id.LabelArray
	return id
}

func newWorld(inv *inventory) *world {
	w := &world{
		inv:     inv,
		idmap:   identity.IdentityMap{},
		byLabel: map[string]*identity.Identity{},
		nextPod: identity.NumericIdentity(10000),
		nextIP:  identity.IdentityScopeLocal | 1,
		pods:    map[string]*identity.Identity{},
	}
	identity.IterateReservedIdentities(func(ni identity.NumericIdentity, id *identity.Identity) {
		w.idmap[ni] = id.LabelArray
	})
	for _, p := range inv.Pods {
		ns, ok := inv.Namespaces[p.Namespace]
		_ = ok
		w.pods[p.Namespace+"/"+p.Name] = w.intern(podLabels(p.Namespace, p.Labels, ns.Labels, inv.Cluster), &w.nextPod)
	}
	return w
}

// Entities as query endpoints: Cilium's reserved identities (pkg/identity/numericidentity.go).
// `cluster` is the aggregate-cluster identity (selected by the `cluster` and `all` entities).
var entityIdentities = map[string]struct {
	id    identity.NumericIdentity
	local bool
}{
	"world":          {identity.ReservedIdentityWorld, false},
	"host":           {identity.ReservedIdentityHost, true},
	"remote-node":    {identity.ReservedIdentityRemoteNode, false},
	"kube-apiserver": {identity.ReservedIdentityKubeAPIServer, false},
	"health":         {identity.ReservedIdentityHealth, true},
	"init":           {identity.ReservedIdentityInit, true},
	"unmanaged":      {identity.ReservedIdentityUnmanaged, false},
	"ingress":        {identity.ReservedIdentityIngress, true},
	"cluster":        {identity.ReservedIdentityAggregateCluster, false},
}

func (w *world) resolve(spec string) (endpoint, error) {
	if kind, rest, ok := strings.Cut(spec, ":"); ok {
		switch kind {
		case "entity":
			e, ok := entityIdentities[rest]
			if !ok {
				valid := make([]string, 0, len(entityIdentities))
				for k := range entityIdentities {
					valid = append(valid, k)
				}
				sort.Strings(valid)
				return endpoint{}, fail("unsupported entity %q in %q; the oracle models: %s", rest, spec, strings.Join(valid, ", "))
			}
			return endpoint{id: identity.LookupReservedIdentity(e.id), local: e.local}, nil
		case "ip":
			addr, err := netip.ParseAddr(rest)
			if err != nil {
				return endpoint{}, fail("bad IP address %q in %q", rest, spec)
			}
			// A CIDR identity, labelled as Cilium labels it (pkg/labels/cidr.go GetCIDRLabels):
			// cidr:<addr>/<bits> plus the world label of its family.
			lbls := labels.GetCIDRLabels(netip.PrefixFrom(addr, addr.BitLen())).LabelArray()
			id := w.intern(lbls, &w.nextIP)
			return endpoint{id: id, local: false}, nil
		case "fqdn":
			return endpoint{}, fail("unsupported endpoint %q: toFQDNs needs Cilium's DNS proxy, which the oracle does not run", spec)
		default:
			return endpoint{}, fail("unknown endpoint kind %q in %q; valid: NS/POD, NS, entity:NAME, ip:ADDR", kind, spec)
		}
	}
	if ns, pod, ok := strings.Cut(spec, "/"); ok {
		if _, known := w.inv.Namespaces[ns]; !known {
			return endpoint{}, fail("unknown namespace %q in %q", ns, spec)
		}
		id, ok := w.pods[ns+"/"+pod]
		if !ok {
			return endpoint{}, fail("no pod %q in namespace %q (from %q)", pod, ns, spec)
		}
		return endpoint{id: id, local: true}, nil
	}
	if _, known := w.inv.Namespaces[spec]; !known {
		return endpoint{}, fail("unknown namespace %q", spec)
	}
	var found []string
	for _, p := range w.inv.Pods {
		if p.Namespace == spec {
			found = append(found, p.Name)
		}
	}
	if len(found) != 1 {
		return endpoint{}, fail("namespace %q has %d pods in the inventory; give NS/POD", spec, len(found))
	}
	return endpoint{id: w.pods[spec+"/"+found[0]], local: true}, nil
}

// ---- policies ----------------------------------------------------------------------------

type typeMeta struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	Metadata   struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
	} `json:"metadata"`
	Items []json.RawMessage `json:"items"`
}

func yamlFiles(root string) ([]string, error) {
	st, err := os.Stat(root)
	if err != nil {
		return nil, fail("policy path %q: %v", root, err)
	}
	if !st.IsDir() {
		return []string{root}, nil
	}
	var files []string
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() && (strings.HasSuffix(p, ".yaml") || strings.HasSuffix(p, ".yml")) {
			files = append(files, p)
		}
		return nil
	})
	sort.Strings(files)
	return files, err
}

// loadPolicies returns the policy entries of every supported document. A document Cilium's
// parser rejects is skipped with a warning, as the agent skips it.
func loadPolicies(logger *slog.Logger, root, cluster string) (policytypes.PolicyEntries, []string, error) {
	files, err := yamlFiles(root)
	if err != nil {
		return nil, nil, err
	}
	var entries policytypes.PolicyEntries
	var warnings []string
	var handle func(where string, doc []byte) error
	handle = func(where string, doc []byte) error {
		var tm typeMeta
		if err := json.Unmarshal(doc, &tm); err != nil {
			return fail("%s: %v", where, err)
		}
		if strings.HasSuffix(tm.Kind, "List") && tm.Items != nil {
			for i, it := range tm.Items {
				if err := handle(fmt.Sprintf("%s items[%d]", where, i), it); err != nil {
					return err
				}
			}
			return nil
		}
		name := tm.Kind + "/" + tm.Metadata.Name
		if tm.Metadata.Namespace != "" {
			name = tm.Kind + "/" + tm.Metadata.Namespace + "/" + tm.Metadata.Name
		}
		switch {
		case tm.APIVersion == "cilium.io/v2" && tm.Kind == "CiliumNetworkPolicy":
			cnp := &cilium_v2.CiliumNetworkPolicy{}
			if err := json.Unmarshal(doc, cnp); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s does not decode: %v (skipped)", where, name, err))
				return nil
			}
			if cnp.Namespace == "" {
				cnp.Namespace = "default"
			}
			rules, err := cnp.Parse(logger, cluster)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s rejected by Cilium's parser: %v (skipped)", where, name, err))
				return nil
			}
			entries = append(entries, policyutils.RulesToPolicyEntries(rules)...)
		case tm.APIVersion == "cilium.io/v2" && tm.Kind == "CiliumClusterwideNetworkPolicy":
			ccnp := &cilium_v2.CiliumClusterwideNetworkPolicy{}
			if err := json.Unmarshal(doc, ccnp); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s does not decode: %v (skipped)", where, name, err))
				return nil
			}
			rules, err := ccnp.Parse(logger, cluster)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s rejected by Cilium's parser: %v (skipped)", where, name, err))
				return nil
			}
			entries = append(entries, policyutils.RulesToPolicyEntries(rules)...)
		case tm.APIVersion == "networking.k8s.io/v1" && tm.Kind == "NetworkPolicy":
			np := &slim_networkingv1.NetworkPolicy{}
			if err := json.Unmarshal(doc, np); err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s does not decode: %v (skipped)", where, name, err))
				return nil
			}
			pe, err := k8s.ParseNetworkPolicy(logger, cluster, np)
			if err != nil {
				warnings = append(warnings, fmt.Sprintf("%s: %s rejected by Cilium's parser: %v (skipped)", where, name, err))
				return nil
			}
			entries = append(entries, pe...)
		}
		return nil
	}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return nil, nil, fail("%s: %v", f, err)
		}
		r := k8syaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(raw)))
		for i := 0; ; i++ {
			chunk, err := r.Read()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return nil, nil, fail("%s: not valid YAML: %v", f, err)
			}
			if len(bytes.TrimSpace(chunk)) == 0 {
				continue
			}
			js, err := yaml.YAMLToJSON(chunk)
			if err != nil {
				return nil, nil, fail("%s (document %d): not valid YAML: %v", f, i, err)
			}
			if bytes.Equal(bytes.TrimSpace(js), []byte("null")) {
				continue
			}
			if err := handle(fmt.Sprintf("%s (document %d)", f, i), js); err != nil {
				return nil, nil, err
			}
		}
	}
	return entries, warnings, nil
}

// ---- queries -----------------------------------------------------------------------------

type query struct {
	from, to, port string
	dport          uint16
	proto          u8proto.U8proto
	protoName      string
}

func parseQueries(path string) ([]query, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fail("cannot read queries: %v", err)
	}
	defer f.Close()
	var out []query
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		if len(fields) != 3 {
			return nil, fail("%s:%d: want `FROM TO PORT/PROTO`, got %q", path, n, line)
		}
		portS, protoS, _ := strings.Cut(fields[2], "/")
		if protoS == "" {
			protoS = "TCP"
		}
		protoS = strings.ToUpper(protoS)
		port, err := strconv.ParseUint(portS, 10, 16)
		if err != nil || port == 0 {
			return nil, fail("%s:%d: bad port %q; valid: 1-65535", path, n, fields[2])
		}
		var proto u8proto.U8proto
		switch protoS {
		case "TCP":
			proto = u8proto.TCP
		case "UDP":
			proto = u8proto.UDP
		case "SCTP":
			proto = u8proto.SCTP
		default:
			return nil, fail("%s:%d: bad protocol %q; valid: TCP, UDP, SCTP", path, n, protoS)
		}
		out = append(out, query{fields[0], fields[1], fmt.Sprintf("%d/%s", port, protoS), uint16(port), proto, protoS})
	}
	return out, sc.Err()
}

// ---- main --------------------------------------------------------------------------------

func ciliumVersion() string {
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/cilium/cilium" {
				return d.Version
			}
		}
	}
	return PinnedCiliumVersion
}

func configure(cluster string) {
	// Agent configuration the verdicts depend on, set as netpol models a cluster:
	// dual-stack (world-ipv4 / world-ipv6 identities, pkg/labels/cidr.go getWorldLabel);
	// host firewall on (host policies apply to reserved:host, pkg/policy/repository.go);
	// allow-localhost "always", what the agent picks in Kubernetes mode (daemon/cmd/daemon.go);
	// default enforcement; CIDR selectors match world identities only (policy-cidr-match-mode
	// empty); the cluster entity is this cluster (api.InitEntities).
	option.Config.EnableIPv4 = true
	option.Config.EnableIPv6 = true
	option.Config.EnableHostFirewall = true
	option.Config.EnableNonDefaultDenyPolicies = true // the agent default (pkg/defaults)
	option.Config.UnsafeDaemonConfigOption.AllowLocalhost = option.AllowLocalhostAlways
	option.Config.PolicyCIDRMatchMode = nil
	option.Config.ClusterName = cluster
	policy.SetPolicyEnabled(option.DefaultEnforcement)
	api.InitEntities(cluster)
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 1 && (args[0] == "--version" || args[0] == "version") {
		fmt.Fprintf(stdout, "cilium-verdict: github.com/cilium/cilium %s\n", ciliumVersion())
		return nil
	}
	if len(args) != 3 {
		return fail("%s", usage)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	inv, err := loadInventory(args[1])
	if err != nil {
		return err
	}
	configure(inv.Cluster)
	queries, err := parseQueries(args[2])
	if err != nil {
		return err
	}
	entries, warnings, err := loadPolicies(logger, args[0], inv.Cluster)
	if err != nil {
		return err
	}
	for _, w := range warnings {
		fmt.Fprintf(stderr, "warning: %s\n", w)
	}
	w := newWorld(inv)
	type resolved struct{ from, to endpoint }
	eps := make([]resolved, len(queries))
	for i, q := range queries {
		from, err := w.resolve(q.from)
		if err != nil {
			return err
		}
		to, err := w.resolve(q.to)
		if err != nil {
			return err
		}
		eps[i] = resolved{from, to}
	}

	// As pkg/k8s/network_policy_test.go testNewPolicyRepository: every identity known to the
	// selector cache up front, the subject selector cache fed by the identity manager.
	idManager := identitymanager.NewIDManager(logger)
	repo := policy.NewPolicyRepository(logger, w.idmap, nil, nil, idManager, testpolicy.NewPolicyMetricsNoop())
	repo.GetSelectorCache().SetLocalIdentityNotifier(testidentity.NewDummyIdentityNotifier())
	idManager.Subscribe(testpolicy.SelectorCacheObserver{Cache: repo.GetSubjectSelectorCache()})
	repo.MustAddPolicyEntries(entries)

	// The steps of policy.LookupFlow (pkg/policy/lookup.go), with the distilled policy of each
	// local identity computed once instead of twice per query: ComputeSelectorPolicy ->
	// DistillPolicy (with LookupFlow's dummy redirects) -> EndpointPolicy.Lookup of the egress key
	// at the source and the ingress key at the destination; not found or deny = denied.
	policies := map[identity.NumericIdentity]*policy.EndpointPolicy{}
	distilled := func(id *identity.Identity) (*policy.EndpointPolicy, error) {
		if epp, ok := policies[id.ID]; ok {
			return epp, nil
		}
		idManager.Add(id) // into the subject selector cache (SelectorCacheObserver)
		sp, _, err := repo.ComputeSelectorPolicy(id)
		if err != nil {
			return nil, fmt.Errorf("resolving the policy of identity %d (%s): %w", id.ID, id.LabelArray, err)
		}
		epp := sp.DistillPolicy(logger, &owner{id: uint64(id.ID)}, map[string]uint16{policy.FallbackRedirectID: math.MaxUint16})
		epp.Ready()
		policies[id.ID] = epp
		return epp, nil
	}

	// CILIUM_VERDICT_LOOKUPFLOW=1: call policy.LookupFlow for every query instead.
	slowPath := os.Getenv("CILIUM_VERDICT_LOOKUPFLOW") == "1"
	out := bufio.NewWriter(stdout)
	defer out.Flush()
	for i, q := range queries {
		from, to := eps[i].from, eps[i].to
		egressOK, ingressOK := true, true
		if slowPath {
			// Cilium's helper itself, two selector-policy resolutions per query (a cross-check of
			// the cached path: tests/oracle compares both).
			verdict, _, _, err := policy.LookupFlow(logger, repo, idManager, policytypes.Flow{
				From: from.id, To: to.id, Proto: q.proto, Dport: q.dport,
			})
			if err != nil {
				return fmt.Errorf("%s %s %s: lookup failed: %w", q.from, q.to, q.port, err)
			}
			egressOK = !from.local || verdict.Egress == policytypes.DecisionAllowed
			ingressOK = !to.local || verdict.Ingress == policytypes.DecisionAllowed
		} else if from.local {
			epp, err := distilled(from.id)
			if err != nil {
				return err
			}
			entry, _, _ := epp.Lookup(policy.EgressKey().WithIdentity(to.id.ID).WithPortProto(q.proto, q.dport))
			egressOK = !entry.IsDeny()
		}
		if to.local && !slowPath {
			epp, err := distilled(to.id)
			if err != nil {
				return err
			}
			entry, _, _ := epp.Lookup(policy.IngressKey().WithIdentity(from.id.ID).WithPortProto(q.proto, q.dport))
			ingressOK = !entry.IsDeny()
		}
		v := "DENIED"
		if egressOK && ingressOK {
			v = "ALLOWED"
		}
		fmt.Fprintf(out, "%s %s %s %s\n", q.from, q.to, q.port, v)
	}
	return nil
}

// owner is the PolicyOwner of a simulated endpoint, as pkg/policy/lookup.go's endpointInfo
// (unexported there): no named ports, nothing to regenerate.
type owner struct{ id uint64 }

func (o *owner) GetID() uint64                                      { return o.id }
func (o *owner) GetIngressNamedPort(string, u8proto.U8proto) uint16 { return 0 }
func (o *owner) PolicyDebug(string, ...any)                         {}
func (o *owner) IsHost() bool                                       { return false }
func (o *owner) PreviousMapStateSizes() policy.MapStateSizes        { return policy.MapStateSizes{} }
func (o *owner) RegenerateIfAlive(*regeneration.ExternalRegenerationMetadata) <-chan bool {
	ch := make(chan bool)
	close(ch)
	return ch
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "error: %v\n", err)
		var bi badInput
		if errors.As(err, &bi) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}
