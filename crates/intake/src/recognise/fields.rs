//! Field extraction: the label rules per document type and the values after them.
use super::*;

// ---------------------------------------------------------------------------------------------------------
// Field extraction

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Name,
    Date,
    /// A date, or the text as printed when it is not `dd/mm/yyyy` (foreign long dates).
    DateOrText,
    Year,
    Digits,
    Sex,
    /// A document number: must start with a letter or digit; kept as printed.
    Number,
    /// A number that must start with a digit (after a bare "Số:").
    NumberDigitFirst,
    Text,
}

/// Where the value is relative to its label.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Place {
    SameLine,
    /// Same line, else the next line (the card front's name).
    SameOrNextLine,
}

pub(super) struct LabelRule {
    pub(super) field: &'static str,
    pub(super) labels: &'static [&'static str],
    pub(super) kind: Kind,
    pub(super) place: Place,
}

pub(super) const fn rule(field: &'static str, labels: &'static [&'static str], kind: Kind) -> LabelRule {
    LabelRule {
        field,
        labels,
        kind,
        place: Place::SameLine,
    }
}

pub(super) const BIRTH_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["noi dang ky"], Kind::Text),
    rule("issue_date", &["ngay thang nam dang ky"], Kind::Date),
];

pub(super) const FOREIGN_BIRTH_RULES: &[LabelRule] = &[
    rule("document_number", &["registration number"], Kind::Number),
    rule("holder_name", &["full name"], Kind::Name),
    rule("birth_date", &["date of birth"], Kind::DateOrText),
    rule("sex", &["sex"], Kind::Sex),
    rule("issue_date", &["date of registration"], Kind::DateOrText),
    rule("issuing_body", &["issued by"], Kind::Text),
];

pub(super) const MARRIAGE_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["noi dang ky"], Kind::Text),
    rule("issue_date", &["ngay thang nam dang ky"], Kind::Date),
];

pub(super) const CIVIL_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho chu dem ten"], Kind::Name),
    rule("birth_date", &["ngay thang nam sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["co quan cap trich luc"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

pub(super) const HIGH_SCHOOL_RULES: &[LabelRule] = &[
    rule("holder_name", &["ho va ten"], Kind::Name),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("document_number", &["so hieu"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

pub(super) const UNIVERSITY_RULES: &[LabelRule] = &[
    rule("holder_name", &["cho"], Kind::Name),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("document_number", &["so hieu"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

pub(super) const TRANSCRIPT_RULES: &[LabelRule] = &[
    rule("document_number", &["so"], Kind::NumberDigitFirst),
    rule("holder_name", &["ho va ten"], Kind::Name),
    rule("sex", &["gioi tinh"], Kind::Sex),
    rule("birth_date", &["ngay sinh"], Kind::Date),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("issuing_body", &["truong"], Kind::Text),
    rule("issue_date", &["ngay xac nhan"], Kind::Date),
];

pub(super) const LAND_RULES: &[LabelRule] = &[
    rule("holder_name", &["ong", "ba"], Kind::Name),
    rule("birth_date", &["nam sinh"], Kind::Year),
    rule("id_number", &["so dinh danh ca nhan"], Kind::Digits),
    rule("document_number", &["so phat hanh"], Kind::Number),
    rule("issuing_body", &["co quan cap"], Kind::Text),
    rule("issue_date", &["ngay cap"], Kind::Date),
];

pub(super) const LICENCE_RULES: &[LabelRule] = &[
    rule("document_number", &["so no"], Kind::Digits),
    rule("holder_name", &["ho ten full name"], Kind::Name),
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("issue_date", &["ngay cap date of issue"], Kind::Date),
];

pub(super) const PASSPORT_RULES: &[LabelRule] = &[
    rule(
        "document_number",
        &["loai type p ma so code vnm so ho chieu passport no"],
        Kind::Number,
    ),
    rule("holder_name", &["ho va ten full name"], Kind::Name),
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("sex", &["gioi tinh sex"], Kind::Sex),
    rule("id_number", &["so gcmnd id card no"], Kind::Digits),
    rule("issue_date", &["ngay cap date of issue"], Kind::Date),
    rule("issuing_body", &["noi cap place of issue"], Kind::Text),
];

pub(super) const CCCD_FRONT_RULES: &[LabelRule] = &[
    rule("id_number", &["so no"], Kind::Digits),
    LabelRule {
        field: "holder_name",
        labels: &["ho va ten full name"],
        kind: Kind::Name,
        place: Place::SameOrNextLine,
    },
    rule("birth_date", &["ngay sinh date of birth"], Kind::Date),
    rule("sex", &["gioi tinh sex"], Kind::Sex),
];

pub(super) const CCCD_BACK_RULES: &[LabelRule] = &[rule(
    "issue_date",
    &["ngay thang nam date month year"],
    Kind::Date,
)];

/// The holder's fields on a paper of a type banso does not read (the name also under [`NAME_LABELS`]).
pub(super) const COMMON_RULES: &[LabelRule] = &[
    rule(
        "holder_name",
        &["toi ten la", "ho va ten", "ho chu dem ten"],
        Kind::Name,
    ),
    rule(
        "birth_date",
        &["ngay thang nam sinh", "ngay sinh", "sinh ngay"],
        Kind::Date,
    ),
    rule(
        "id_number",
        &["so dinh danh ca nhan", "so can cuoc cong dan", "so cccd"],
        Kind::Digits,
    ),
];

/// Whole lines that are a field by their content.
pub(super) const LINE_RULES: &[(DocClass, &str, &str)] = &[
    (
        DocClass::CccdBack,
        "issuing_body",
        "cuc canh sat quan ly hanh chinh",
    ),
    (DocClass::DrivingLicence, "issuing_body", "so giao thong van tai"),
];

pub(super) fn rules_for(class: DocClass, english: bool) -> &'static [LabelRule] {
    match class {
        DocClass::BirthCertificate if english => FOREIGN_BIRTH_RULES,
        DocClass::BirthCertificate => BIRTH_RULES,
        DocClass::MarriageCertificate => MARRIAGE_RULES,
        DocClass::CivilStatusExtract => CIVIL_RULES,
        DocClass::HighSchoolDiploma => HIGH_SCHOOL_RULES,
        DocClass::UniversityDiploma => UNIVERSITY_RULES,
        DocClass::AcademicTranscript => TRANSCRIPT_RULES,
        DocClass::LandUseRightCertificate => LAND_RULES,
        DocClass::DrivingLicence => LICENCE_RULES,
        DocClass::PassportDataPage => PASSPORT_RULES,
        DocClass::CccdFront => CCCD_FRONT_RULES,
        DocClass::CccdBack => CCCD_BACK_RULES,
        DocClass::Unknown => &[],
    }
}

/// A label at the start of a line: the index of the first word after it.
pub(super) fn label_at_start(line: &PageLine<'_>, label: &str) -> Option<(usize, usize)> {
    let p: Vec<char> = label.chars().collect();
    // Look only at the line's start: the label's length plus a little slack.
    let window = (p.len() + 4).min(line.folded.len());
    let h = text::find_approx(&line.folded[..window], &p, text::tolerance(p.len()))?;
    // The label starts the line (allowing one stray mark before it) and starts at a word.
    if h.start > 2 || (h.start > 0 && line.folded[h.start - 1] != ' ') {
        return None;
    }
    // The label must end at a word boundary.
    if h.end < line.folded.len() && line.folded[h.end] != ' ' {
        // A short label like "so" must not be the start of a longer word ("số" vs "sông").
        let last = line.owner[h.end - 1];
        let next = line.owner[h.end];
        if last == next {
            return None;
        }
    }
    let last_label_word = line.owner[h.end - 1];
    Some((h.edits, last_label_word + 1))
}

pub(super) fn normalise(kind: Kind, raw: &str) -> Option<(String, bool)> {
    // Words with no letter or digit at either end are OCR debris (a seal's edge, a dash).
    let words: Vec<&str> = raw.split_whitespace().collect();
    let first = words.iter().position(|w| w.chars().any(char::is_alphanumeric))?;
    let last = words.iter().rposition(|w| w.chars().any(char::is_alphanumeric))?;
    // U+00D0 (Eth) is how OCR often returns the Vietnamese Đ (U+0110).
    let joined = words[first..=last].join(" ").replace('\u{D0}', "\u{110}");
    let trimmed =
        joined.trim_matches(|c: char| c.is_whitespace() || matches!(c, ':' | ',' | '.' | ';' | '_' | '|'));
    if trimmed.is_empty() {
        return None;
    }
    match kind {
        Kind::Name => {
            let f = fold(trimmed);
            if f.starts_with("nguoi") || f.chars().any(|c| c.is_ascii_digit()) || f.len() < 3 {
                return None;
            }
            Some((trimmed.to_string(), false))
        }
        Kind::Date => {
            let token = trimmed.split_whitespace().next().unwrap_or(trimmed);
            let v = parse_dmy(token).or_else(|| parse_dmy(trimmed))?;
            let fixed = !token.chars().all(|c| c.is_ascii_digit() || c == '/');
            Some((v, fixed))
        }
        Kind::DateOrText => match parse_dmy(trimmed) {
            Some(v) => Some((v, false)),
            None => Some((trimmed.to_string(), false)),
        },
        Kind::Year => {
            let token = trimmed.split_whitespace().next().unwrap_or(trimmed);
            let d = ocr_digits(token)?;
            (d.len() == 4).then(|| (d.clone(), d != token))
        }
        Kind::Digits => {
            let joined: String = trimmed.split_whitespace().collect();
            let d = ocr_digits(&joined)?;
            (d.len() >= 6).then(|| (d.clone(), d != joined))
        }
        Kind::Sex => {
            let f = fold(trimmed);
            let first = f.split(' ').next().unwrap_or("");
            let v = match first {
                "nam" => "Nam",
                "nu" => "Nữ",
                "male" => "Male",
                "female" => "Female",
                _ => return None,
            };
            Some((v.to_string(), false))
        }
        Kind::Number => Some((trimmed.to_string(), false)),
        Kind::NumberDigitFirst => {
            let first = trimmed.chars().next()?;
            first.is_ascii_digit().then(|| (trimmed.to_string(), false))
        }
        Kind::Text => (fold(trimmed).len() >= 3).then(|| (trimmed.to_string(), false)),
    }
}

pub(super) fn field_from_words(words: &[&OcrWord], kind: Kind, source: FieldSource) -> Option<Field> {
    let raw = words_text(words);
    let (value, fixed) = normalise(kind, &raw)?;
    let min_conf = words.iter().map(|w| w.confidence).fold(100.0f32, f32::min) / 100.0;
    Some(Field {
        value,
        raw,
        confidence: if fixed { min_conf * 0.8 } else { min_conf },
        source,
        words: words
            .iter()
            .map(|w| FieldWord {
                text: w.text.clone(),
                confidence: w.confidence,
                bbox: w.bbox,
            })
            .collect(),
        bbox: words.iter().map(|w| w.bbox).reduce(|a, b| a.union(&b)),
    })
}

pub(super) fn words_text(words: &[&OcrWord]) -> String {
    words
        .iter()
        .map(|w| w.text.as_str())
        .collect::<Vec<_>>()
        .join(" ")
}

/// Labels that name a person on most papers, tried for the holder's name where the type's own label is not
/// found (a layout the type list does not know). One counts only where it ends its label — a colon follows
/// it, or an English gloss ending in one ("/ Full name:", "(Full name):") — so "Họ và tên cha:" is somebody
/// else's. The first from the top is the holder's, as on every type banso knows.
pub(super) const NAME_LABELS: &[&str] = &[
    "toi ten la",
    "ho chu dem va ten",
    "ho chu dem ten",
    "ho va ten",
    "ho ten",
    "ong ba",
    "ong",
    "ba",
    "full name",
];
pub(super) const NAME_GLOSSES: &[&str] = &["full name", "name", "ho va ten", "ho ten"];
/// Titles printed before a name ("Họ và tên: Ông NGUYỄN VĂN A"), not part of it.
pub(super) const NAME_TITLES: &[&str] = &["ong", "ba", "ong ba", "anh", "chi", "mr", "mrs", "ms", "miss"];

pub(super) fn ends_label(w: &OcrWord) -> bool {
    w.text.ends_with([':', ';'])
}

/// The first word after a common name label that starts `line`, with its gloss.
pub(super) fn name_label_end(line: &PageLine<'_>) -> Option<usize> {
    for label in NAME_LABELS {
        let Some((_, after)) = label_at_start(line, label) else {
            continue;
        };
        if ends_label(line.words[after - 1]) {
            return Some(after);
        }
        if let Some(end) = gloss_end(&line.words[after..]) {
            return Some(after + end);
        }
    }
    None
}

/// Where an English gloss that opens `words` ("/ Full name:", "(Full name):") ends, after its colon.
pub(super) fn gloss_end(words: &[&OcrWord]) -> Option<usize> {
    let j = (0..words.len().min(3)).find(|&j| ends_label(words[j]))?;
    NAME_GLOSSES
        .contains(&fold(&words_text(&words[..=j])).as_str())
        .then_some(j + 1)
}

/// The holder's name under a common label, on its line or the line below.
pub(super) fn name_by_common_label(lines: &[PageLine<'_>]) -> Option<Field> {
    lines
        .iter()
        .enumerate()
        .find_map(|(li, line)| field_after(lines, li, name_label_end(line)?, Kind::Name, true))
}

/// The field whose label ends before word `after` of line `li`: the rest of that line, or — when nothing is
/// left there and `next_line` allows — the line below. `None` when neither reads as a value of `kind`.
pub(super) fn field_after(
    lines: &[PageLine<'_>],
    li: usize,
    after: usize,
    kind: Kind,
    next_line: bool,
) -> Option<Field> {
    let line = &lines[li];
    let label = words_text(&line.words[..after]);
    let same = value_words(kind, &line.words[after..]);
    if !same.is_empty() {
        return field_from_words(same, kind, FieldSource::Label { label });
    }
    let next = lines.get(li + 1).filter(|_| next_line)?;
    field_from_words(
        value_words(kind, &next.words),
        kind,
        FieldSource::NextLine { label },
    )
}

/// The words of a value after its label. A name sets aside a title before it and stops where the line goes on
/// to something else: after a comma ("…, sinh năm 1970"), before a second label ("… Giới tính: Nam") or across
/// a column gap.
pub(super) fn value_words<'w>(kind: Kind, words: &'w [&'w OcrWord]) -> &'w [&'w OcrWord] {
    if kind != Kind::Name {
        return words;
    }
    let mut from = gloss_end(words).unwrap_or(0);
    while words.len() - from > 2 && NAME_TITLES.contains(&fold(&words[from].text).as_str()) {
        from += 1;
    }
    let mut to = words.len();
    for k in from..words.len() {
        if k > from {
            let (a, b) = (words[k - 1].bbox, words[k].bbox);
            if b.x > a.right() + 2 * a.h.max(b.h) {
                to = k;
                break;
            }
        }
        // A colon that ends the line is OCR's speck, not a second label.
        if ends_label(words[k]) && k + 1 < words.len() {
            // The label opens at the capitalised word before its lower-case ones ("Giới tính:").
            let mut start = k;
            while start > from && words[start].text.chars().next().is_some_and(char::is_lowercase) {
                start -= 1;
            }
            to = start;
            break;
        }
        if words[k].text.ends_with(',') {
            to = k + 1;
            break;
        }
    }
    &words[from..to]
}

pub(super) fn extract(
    class: DocClass,
    english: bool,
    lines: &[PageLine<'_>],
    mrz: Option<&MrzReading>,
    page_w: u32,
) -> (BTreeMap<String, Field>, Vec<EmptyLabel>) {
    let mut fields = BTreeMap::new();
    let mut empty = Vec::new();
    // A paper of a type banso does not read still names its holder under common labels: read them, so the
    // officer sees them compared with the verified identity. Its layout is not known, so a label found
    // empty there says nothing of an erased value.
    let (rules, known_layout) = match class {
        DocClass::Unknown => (COMMON_RULES, false),
        _ => (rules_for(class, english), true),
    };
    for r in rules {
        let mut found = None;
        let mut empty_here = None;
        'lines: for (li, line) in lines.iter().enumerate() {
            for label in r.labels {
                let Some((_, after)) = label_at_start(line, label) else {
                    continue;
                };
                if let Some(f) = field_after(lines, li, after, r.kind, r.place == Place::SameOrNextLine) {
                    found = Some(f);
                    break 'lines;
                }
                // A value that does not fit (e.g. "Số định danh…" under the bare "Số" rule): not this line.
                if !value_words(r.kind, &line.words[after..]).is_empty() {
                    continue;
                }
                if empty_here.is_none() {
                    let lb = line.words_box(0, after).unwrap_or(line.bbox);
                    let x = lb.right() + lb.h / 2;
                    let w = (page_w.saturating_sub(x)).min(lb.h * 14);
                    empty_here = Some(EmptyLabel {
                        field: r.field.to_string(),
                        label: words_text(&line.words[..after]),
                        label_box: lb,
                        value_region: BBox::new(x, lb.y.saturating_sub(lb.h / 4), w, lb.h + lb.h / 2),
                    });
                }
            }
        }
        if found.is_none() && r.kind == Kind::Name {
            found = name_by_common_label(lines);
        }
        match found {
            Some(f) => {
                fields.insert(r.field.to_string(), f);
            }
            None if known_layout => empty.extend(empty_here),
            None => {}
        }
    }
    for (c, field, pattern) in LINE_RULES {
        if *c != class || fields.contains_key(*field) {
            continue;
        }
        let p: Vec<char> = pattern.chars().collect();
        for line in lines {
            if let Some(h) = text::find_approx(&line.folded, &p, text::tolerance(p.len())) {
                // From the word where the pattern starts: OCR debris before it (a seal's edge) is not the value.
                if let Some(f) = field_from_words(
                    &line.words[line.owner[h.start]..],
                    Kind::Text,
                    FieldSource::Line {
                        pattern: pattern.to_string(),
                    },
                ) {
                    fields.insert(field.to_string(), f);
                    break;
                }
            }
        }
    }
    if class == DocClass::MarriageCertificate && fields.contains_key("holder_name") {
        fields.insert(
            "sex".into(),
            Field {
                value: "Nam".into(),
                raw: String::new(),
                confidence: 1.0,
                source: FieldSource::Implied {
                    reason: "the first person of a marriage certificate is the husband (\"Thông tin người chồng\")"
                        .into(),
                },
                words: Vec::new(),
                bbox: None,
            },
        );
    }
    if class == DocClass::CccdBack {
        if let Some(m) = mrz {
            mrz_fields(m, &mut fields);
        }
    }
    (fields, empty)
}

/// Holder fields of a card back from its MRZ: name (without diacritics, as the MRZ writes it), birth date
/// (century from the ID number's century digit when there is one), sex, ID number (optional data).
pub(super) fn mrz_fields(m: &MrzReading, fields: &mut BTreeMap<String, Field>) {
    let conf = if m.valid() { 0.9 } else { 0.5 };
    let mut put = |name: &str, value: String| {
        if value.is_empty() {
            return;
        }
        fields.insert(
            name.to_string(),
            Field {
                value,
                raw: m.raw_lines.join("\n"),
                confidence: conf,
                source: FieldSource::Mrz,
                words: Vec::new(),
                bbox: Some(m.bbox),
            },
        );
    };
    let id: String = m.optional.chars().filter(|c| c.is_ascii_digit()).collect();
    if id.len() == 12 {
        put("id_number", id.clone());
    }
    let name = format!("{} {}", m.surname, m.given_names).trim().to_string();
    put("holder_name", name);
    put(
        "sex",
        match m.sex {
            'M' => "Nam".into(),
            'F' => "Nữ".into(),
            _ => String::new(),
        },
    );
    if let Some(d) = mrz_date(&m.birth_yymmdd, id.chars().nth(3)) {
        put("birth_date", d);
    }
}

/// `YYMMDD` to `dd/mm/yyyy`; the century from a CCCD century/sex digit, else the closest past century.
pub fn mrz_date(yymmdd: &str, century_digit: Option<char>) -> Option<String> {
    if yymmdd.len() != 6 || !yymmdd.chars().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let yy: u32 = yymmdd[0..2].parse().ok()?;
    let mm: u32 = yymmdd[2..4].parse().ok()?;
    let dd: u32 = yymmdd[4..6].parse().ok()?;
    let century = match century_digit.and_then(|c| c.to_digit(10)) {
        Some(d) => 1900 + 100 * (d / 2),
        None if yy <= 30 => 2000,
        None => 1900,
    };
    parse_dmy(&format!("{dd}/{mm}/{}", century + yy))
}
