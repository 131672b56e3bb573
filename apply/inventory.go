package apply

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
)

// The inventory lives in the cluster it describes, in a ConfigMap named
// InventoryPrefix+site in Config.InventoryNamespace: it records what this
// cluster holds of metalgit's (a new cluster pointed at the same
// repository starts empty and adopts what carries metalgit's labels),
// and the API server keeps it beside the objects, with no second store.
// Its data is gzipped JSON, so that 10,000 hosts (30,000 objects) fit in
// a ConfigMap's 1 MiB.
const (
	InventoryPrefix = "metalgit-inventory-"
	inventoryKey    = "inventory.json.gz"
	// maxInventory is the most a ConfigMap's data may hold, with room
	// for its metadata.
	maxInventory = 900 << 10
	// maxInventoryJSON bounds the inventory read back (gzip expands).
	maxInventoryJSON = 64 << 20
)

// Entry is one object of the inventory.
type Entry struct {
	Key
	// UID is the object's uid when metalgit applied it: prune deletes it
	// only with that uid, never an object recreated by someone else under
	// the same name.
	UID types.UID `json:"uid,omitempty"`
}

// inventory is the set of objects metalgit applied and has not seen
// gone.
type inventory map[Key]types.UID

func (inv inventory) entries() []Entry {
	out := make([]Entry, 0, len(inv))
	for k, uid := range inv {
		out = append(out, Entry{Key: k, UID: uid})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

func (inv inventory) equal(other inventory) bool {
	if len(inv) != len(other) {
		return false
	}
	for k, uid := range inv {
		if o, ok := other[k]; !ok || o != uid {
			return false
		}
	}
	return true
}

// InventoryError is an inventory that cannot be read or written.
type InventoryError struct {
	Namespace, Name string
	Err             error
}

func (e *InventoryError) Error() string {
	return fmt.Sprintf("inventory ConfigMap %s/%s: %v", e.Namespace, e.Name, e.Err)
}

func (e *InventoryError) Unwrap() error { return e.Err }

type inventoryStore struct {
	client          kubernetes.Interface
	namespace, name string
	labels          map[string]string
	fieldManager    string
}

// read returns the inventory; an absent ConfigMap is an empty one.
func (s *inventoryStore) read(ctx context.Context) (inventory, error) {
	cm, err := s.client.CoreV1().ConfigMaps(s.namespace).Get(ctx, s.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return inventory{}, nil
	}
	if err != nil {
		return nil, s.fail(err)
	}
	raw, ok := cm.BinaryData[inventoryKey]
	if !ok {
		return nil, s.fail(fmt.Errorf("no %s in binaryData: not metalgit's inventory (delete it, or set another --inventory-namespace)", inventoryKey))
	}
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, s.fail(err)
	}
	b, err := io.ReadAll(io.LimitReader(zr, maxInventoryJSON+1))
	if err != nil {
		return nil, s.fail(err)
	}
	if len(b) > maxInventoryJSON {
		return nil, s.fail(fmt.Errorf("more than %d bytes unpacked", maxInventoryJSON))
	}
	var entries []Entry
	if err := json.Unmarshal(b, &entries); err != nil {
		return nil, s.fail(err)
	}
	inv := inventory{}
	for _, e := range entries {
		inv[e.Key] = e.UID
	}
	return inv, nil
}

// write replaces the inventory (server-side apply of the ConfigMap),
// creating its namespace when missing.
func (s *inventoryStore) write(ctx context.Context, inv inventory) error {
	b, err := json.Marshal(inv.entries())
	if err != nil {
		return s.fail(err)
	}
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write(b)
	if err := zw.Close(); err != nil {
		return s.fail(err)
	}
	if buf.Len() > maxInventory {
		return s.fail(fmt.Errorf("%d objects take %d bytes gzipped, more than a ConfigMap holds (%d)", len(inv), buf.Len(), maxInventory))
	}
	if err := s.ensureNamespace(ctx); err != nil {
		return err
	}
	cm := &corev1.ConfigMap{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: s.name, Namespace: s.namespace, Labels: s.labels},
		BinaryData: map[string][]byte{inventoryKey: buf.Bytes()},
	}
	body, err := json.Marshal(cm)
	if err != nil {
		return s.fail(err)
	}
	force := true
	_, err = s.client.CoreV1().ConfigMaps(s.namespace).Patch(ctx, s.name, types.ApplyPatchType, body,
		metav1.PatchOptions{FieldManager: s.fieldManager, Force: &force})
	if err != nil {
		return s.fail(err)
	}
	return nil
}

func (s *inventoryStore) ensureNamespace(ctx context.Context) error {
	_, err := s.client.CoreV1().Namespaces().Get(ctx, s.namespace, metav1.GetOptions{})
	if err == nil {
		return nil
	}
	if !apierrors.IsNotFound(err) {
		return s.fail(err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: s.namespace, Labels: map[string]string{LabelManagedBy: ManagedByValue}}}
	if _, err := s.client.CoreV1().Namespaces().Create(ctx, ns, metav1.CreateOptions{FieldManager: s.fieldManager}); err != nil && !apierrors.IsAlreadyExists(err) {
		return s.fail(fmt.Errorf("creating its namespace: %w", err))
	}
	return nil
}

func (s *inventoryStore) fail(err error) error {
	return &InventoryError{Namespace: s.namespace, Name: s.name, Err: err}
}
