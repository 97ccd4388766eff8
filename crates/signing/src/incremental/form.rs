//! Signature fields through the form (`/AcroForm /Fields`, `/Kids`) of every revision, bounded in what the
//! walk reads and decodes.
use super::*;

/// Where a signature field's value dictionary is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// An uncompressed indirect object whose `N G obj` starts at byte `offset`.
    Object { num: u32, offset: usize },
    /// An indirect object stored at `index` in the object stream `stream`: its bytes are not in the file
    /// as such.
    InStream { num: u32, stream: u32, index: u32 },
    /// Written inside the field (object `field`, if the field is indirect) rather than as an indirect
    /// object.
    Inline { field: Option<u32> },
}

/// A signature field's value, found through a revision's form (`/AcroForm /Fields`, following `/Kids`).
#[derive(Debug, Clone)]
pub struct FoundSignature {
    /// The field's full name as written: the `/T` strings of its ancestors and its own, outermost first.
    pub field_name: Vec<Vec<u8>>,
    pub place: Place,
    /// The value dictionary; `None` when `/V` names something that cannot be read as one.
    pub dict: Option<Dict>,
    /// The dictionary's entries as written, with the bytes each value spans; empty unless the dictionary
    /// is an uncompressed indirect object ([`Place::Object`]).
    pub entries: Vec<SpannedEntry>,
    /// The oldest revision (index into [`PdfDoc::sections`]) whose form lists it.
    pub revision: usize,
    /// Where it sits in the file (its object's offset, else its object stream's or its field's), for
    /// ordering.
    pub position: usize,
}

impl FoundSignature {
    /// Where the value of `key` is written in the file: only when the dictionary is an uncompressed
    /// indirect object that holds `key` exactly once.
    pub fn span_of(&self, key: &str) -> Option<Range<usize>> {
        let mut with_key = self.entries.iter().filter(|e| e.key == key.as_bytes());
        let first = with_key.next()?;
        with_key.next().is_none().then(|| first.span.clone())
    }

    pub(super) fn same_value(&self, place: &Place, inline: Option<&Obj>) -> bool {
        self.place == *place
            && match place {
                Place::Inline { .. } => self.dict.as_ref() == inline.and_then(Obj::as_dict),
                _ => true,
            }
    }
}

/// The values of the signature fields of a file.
#[derive(Debug, Clone, Default)]
pub struct FormSignatures {
    /// Each value once, in order of discovery (oldest revision first, then field order).
    pub found: Vec<FoundSignature>,
    /// The most signature fields with a value that one revision's form lists.
    pub most_in_one_revision: usize,
    /// Some revision's form has two fields whose value is the same dictionary.
    pub shared_value: bool,
}

/// Stored objects read at most while walking the forms of a file (each is read once).
pub(super) const MAX_FORM_LOADS: usize = 4096;
/// Bytes examined or decoded at most while walking the forms of a file (objects may overlap in a hostile
/// file, so this is not bounded by its size).
pub(super) const MAX_FORM_BYTES: usize = 64 << 20;
/// Field tree nodes visited at most, over all revisions.
pub(super) const MAX_FORM_VISITS: usize = 100_000;

/// An object's storage: its number, its entry, and its object stream's entry.
pub(super) type StoreKey = (u32, Entry, Option<Entry>);
/// A decoded object stream: its dictionary and data.
pub(super) type ObjectStream = (Dict, Vec<u8>);

/// Walks the forms of a file's revisions, reading each stored object and object stream once.
pub(super) struct FormWalk<'d, 'a> {
    pub(super) doc: &'d PdfDoc<'a>,
    pub(super) objects: BTreeMap<StoreKey, Option<Obj>>,
    pub(super) streams: BTreeMap<(u32, Entry), Option<ObjectStream>>,
    pub(super) loads: usize,
    pub(super) visits: usize,
    pub(super) bytes: usize,
}

/// A field tree node waiting to be visited.
pub(super) struct FieldNode {
    pub(super) obj: Obj,
    pub(super) name: Vec<Vec<u8>>,
    /// `/FT /Sig` inherited from an ancestor.
    pub(super) sig: bool,
    pub(super) depth: usize,
}

impl<'d, 'a> FormWalk<'d, 'a> {
    pub(super) fn new(doc: &'d PdfDoc<'a>) -> Self {
        Self {
            doc,
            objects: BTreeMap::new(),
            streams: BTreeMap::new(),
            loads: 0,
            visits: 0,
            bytes: 0,
        }
    }

    /// Accounts for one read that examined or decoded `bytes`.
    pub(super) fn spend(&mut self, bytes: usize) -> Result<(), SigningError> {
        self.loads += 1;
        self.bytes = self.bytes.saturating_add(bytes);
        if self.loads > MAX_FORM_LOADS {
            return Err(bad(format!(
                "the forms of the file need more than {MAX_FORM_LOADS} objects"
            )));
        }
        if self.bytes > MAX_FORM_BYTES {
            return Err(bad(format!(
                "the forms of the file need more than {} MiB to be read",
                MAX_FORM_BYTES >> 20
            )));
        }
        Ok(())
    }

    /// The decoded object stream `stm` of `table`.
    pub(super) fn stream(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        stm: u32,
    ) -> Result<Option<&ObjectStream>, SigningError> {
        let Some(entry @ Entry::Offset(offset, _)) = table.get(&stm).copied() else {
            return Ok(None);
        };
        let key = (stm, entry);
        if !self.streams.contains_key(&key) {
            let (parsed, examined) = parse_indirect_counted(self.doc.bytes, offset);
            self.spend(examined)?;
            // One byte over what is left, so that a stream cut at the limit still exceeds it.
            let left = MAX_FORM_BYTES.saturating_sub(self.bytes).saturating_add(1) as u64;
            let decoded = match parsed {
                Some((n, _, Obj::Stream(dict, raw))) if n == stm => {
                    decode_stream_within(&dict, &raw, left).map(|data| (dict, data))
                }
                _ => None,
            };
            self.spend(decoded.as_ref().map_or(0, |(_, d)| d.len()))?;
            self.streams.insert(key, decoded);
        }
        Ok(self.streams.get(&key).and_then(Option::as_ref))
    }

    /// Object `num` through `table`.
    pub(super) fn load(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        num: u32,
    ) -> Result<Option<Obj>, SigningError> {
        let key = match table.get(&num).copied() {
            None | Some(Entry::Free) => return Ok(None),
            Some(e @ Entry::Offset(..)) => (num, e, None),
            Some(e @ Entry::InStream(stm, _)) => (num, e, table.get(&stm).copied()),
        };
        if let Some(hit) = self.objects.get(&key) {
            return Ok(hit.clone());
        }
        let (obj, examined) = match key.1 {
            Entry::Offset(offset, _) => {
                let (parsed, examined) = parse_indirect_counted(self.doc.bytes, offset);
                (parsed.and_then(|(n, _, o)| (n == num).then_some(o)), examined)
            }
            Entry::InStream(stm, index) => match self.stream(table, stm)? {
                Some((dict, data)) => object_in_stream(dict, data, num, index),
                None => (None, 0),
            },
            Entry::Free => (None, 0),
        };
        self.spend(examined)?;
        self.objects.insert(key, obj.clone());
        Ok(obj)
    }

    pub(super) fn resolve(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        obj: &Obj,
    ) -> Result<Option<Obj>, SigningError> {
        match obj {
            Obj::Ref(n, _) => self.load(table, *n),
            other => Ok(Some(other.clone())),
        }
    }

    /// Where the value `v` of a signature field (object `field` at `field_position`) is stored, and the
    /// position to order it by; `None` when `v` refers to no object (the field is unsigned).
    pub(super) fn place_of(
        table: &BTreeMap<u32, Entry>,
        v: &Obj,
        field: Option<u32>,
        field_position: usize,
    ) -> Option<(Place, usize)> {
        match v {
            Obj::Ref(num, _) => match table.get(num)? {
                Entry::Free => None,
                Entry::Offset(offset, _) => Some((
                    Place::Object {
                        num: *num,
                        offset: *offset,
                    },
                    *offset,
                )),
                Entry::InStream(stream, index) => {
                    let position = match table.get(stream) {
                        Some(Entry::Offset(o, _)) => *o,
                        _ => usize::MAX,
                    };
                    let place = Place::InStream {
                        num: *num,
                        stream: *stream,
                        index: *index,
                    };
                    Some((place, position))
                }
            },
            _ => Some((Place::Inline { field }, field_position)),
        }
    }

    /// Reads the value dictionary stored at `place`.
    pub(super) fn read_value(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        place: &Place,
        v: &Obj,
    ) -> Result<(Option<Dict>, Vec<SpannedEntry>), SigningError> {
        Ok(match place {
            Place::Object { num, offset } => {
                let (parsed, examined) = parse_indirect_entries(self.doc.bytes, *offset);
                self.spend(examined)?;
                match parsed {
                    Some((n, _, entries)) if n == *num => {
                        let kept = entries
                            .iter()
                            .filter(|e| e.value != Obj::Null)
                            .map(|e| (e.key.clone(), e.value.clone()));
                        (Some(Dict(kept.collect())), entries)
                    }
                    _ => (None, Vec::new()),
                }
            }
            Place::InStream { num, .. } => {
                let obj = self.load(table, *num)?;
                (obj.as_ref().and_then(Obj::as_dict).cloned(), Vec::new())
            }
            Place::Inline { .. } => (v.as_dict().cloned(), Vec::new()),
        })
    }

    /// Adds the signature values that the form of the revision with object table `table` and catalog
    /// `root` lists, stopping once it lists more than `stop_after`.
    pub(super) fn revision(
        &mut self,
        table: &BTreeMap<u32, Entry>,
        root: u32,
        revision: usize,
        out: &mut FormSignatures,
        stop_after: usize,
    ) -> Result<(), SigningError> {
        let Some(Obj::Dict(catalog)) = self.load(table, root)? else {
            return Ok(());
        };
        let acro = match catalog.get("AcroForm") {
            Some(a) => self.resolve(table, a)?,
            None => None,
        };
        let fields = match acro.as_ref().and_then(Obj::as_dict).and_then(|a| a.get("Fields")) {
            Some(f) => self.resolve(table, f)?,
            None => None,
        };
        let Some(Obj::Array(fields)) = fields else {
            return Ok(());
        };
        let mut stack: Vec<FieldNode> = fields
            .into_iter()
            .rev()
            .map(|obj| FieldNode {
                obj,
                name: Vec::new(),
                sig: false,
                depth: 0,
            })
            .collect();
        let mut seen = BTreeSet::new();
        // The value (index into out.found) of each signed field of this revision.
        let mut signed: Vec<usize> = Vec::new();
        while let Some(node) = stack.pop() {
            self.visits += 1;
            if self.visits > MAX_FORM_VISITS {
                return Err(bad(format!(
                    "the forms of the file have more than {MAX_FORM_VISITS} fields"
                )));
            }
            if node.depth > MAX_DEPTH {
                return Err(bad("the form's field tree is too deep"));
            }
            let field = node.obj.as_ref_id().map(|r| r.0);
            if field.is_some_and(|n| !seen.insert(n)) {
                continue;
            }
            let Some(Obj::Dict(d)) = self.resolve(table, &node.obj)? else {
                continue;
            };
            let mut name = node.name.clone();
            if let Some(Obj::Str(t)) = d.get("T") {
                name.push(t.clone());
            }
            let sig = match d.get("FT") {
                Some(Obj::Name(ft)) => ft == b"Sig",
                _ => node.sig,
            };
            let position = match field.and_then(|n| table.get(&n)) {
                Some(Entry::Offset(o, _)) => *o,
                _ => usize::MAX,
            };
            let value = d.get("V").filter(|_| sig);
            if let Some((v, (place, at))) =
                value.and_then(|v| Some((v, Self::place_of(table, v, field, position)?)))
            {
                out.most_in_one_revision = out.most_in_one_revision.max(signed.len() + 1);
                if signed.len() >= stop_after {
                    return Ok(());
                }
                let known = out.found.iter().position(|f| f.same_value(&place, Some(v)));
                let index = match known {
                    Some(i) => i,
                    None => {
                        let (dict, entries) = self.read_value(table, &place, v)?;
                        out.found.push(FoundSignature {
                            field_name: name.clone(),
                            place,
                            dict,
                            entries,
                            revision,
                            position: at,
                        });
                        out.found.len() - 1
                    }
                };
                // Fields are visited once each, so a repeated value is a second field's.
                if signed.contains(&index) {
                    out.shared_value = true;
                }
                signed.push(index);
            }
            if let Some(kids) = d.get("Kids") {
                if let Some(Obj::Array(kids)) = self.resolve(table, kids)? {
                    for obj in kids.into_iter().rev() {
                        stack.push(FieldNode {
                            obj,
                            name: name.clone(),
                            sig,
                            depth: node.depth + 1,
                        });
                    }
                }
            }
        }
        Ok(())
    }
}

/// The signature fields' values (`/FT /Sig` fields with a `/V`, found through `/AcroForm /Fields` and
/// `/Kids`): of the newest form only, or with `every_revision` of each revision's form, so that a later
/// update that drops a field from the form does not hide the signature it holds. The walk stops once one
/// form lists more than `stop_after` values; it fails when the forms need more work than a genuine file.
pub fn signature_fields(
    doc: &PdfDoc<'_>,
    every_revision: bool,
    stop_after: usize,
) -> Result<FormSignatures, SigningError> {
    let mut walk = FormWalk::new(doc);
    let mut out = FormSignatures::default();
    if every_revision {
        let mut table = BTreeMap::new();
        let mut root = None;
        for (k, section) in doc.sections.iter().enumerate() {
            table.extend(section.entries.iter().map(|(n, e)| (*n, *e)));
            if let Some(r) = section.trailer.get("Root").and_then(Obj::as_ref_id) {
                root = Some(r.0);
            }
            if let Some(r) = root {
                walk.revision(&table, r, k, &mut out, stop_after)?;
            }
            if out.most_in_one_revision > stop_after || out.found.len() > stop_after {
                break;
            }
        }
    } else if let Some(r) = doc.trailer.get("Root").and_then(Obj::as_ref_id) {
        let newest = doc.sections.len().saturating_sub(1);
        walk.revision(&doc.table, r.0, newest, &mut out, stop_after)?;
    }
    Ok(out)
}

/// The signature value dictionaries of the newest form's signature fields, in field order.
pub fn signature_values(doc: &PdfDoc<'_>) -> Vec<Dict> {
    signature_fields(doc, false, usize::MAX)
        .map(|s| s.found.into_iter().filter_map(|f| f.dict).collect())
        .unwrap_or_default()
}

/// Names of the terminal fields reachable from the AcroForm /Fields (with their parents' names).
pub(super) fn field_names(doc: &PdfDoc<'_>, fields: &[Obj]) -> BTreeSet<Vec<u8>> {
    let mut out = BTreeSet::new();
    let mut stack: Vec<(Obj, Vec<u8>, usize)> = fields.iter().map(|f| (f.clone(), Vec::new(), 0)).collect();
    while let Some((f, prefix, depth)) = stack.pop() {
        if depth > MAX_DEPTH || out.len() > 100_000 {
            break;
        }
        let Some(Obj::Dict(d)) = doc.resolve(&f) else {
            continue;
        };
        let mut name = prefix.clone();
        if let Some(Obj::Str(t)) = d.get("T") {
            if !name.is_empty() {
                name.push(b'.');
            }
            name.extend_from_slice(t);
        }
        out.insert(name.clone());
        if let Some(Obj::Array(kids)) = d.get("Kids").and_then(|k| doc.resolve(k)) {
            for k in kids {
                stack.push((k, name.clone(), depth + 1));
            }
        }
    }
    out
}
