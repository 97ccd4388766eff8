#!/usr/bin/env python3
"""Makes forged variants of a signed PDF with pyHanko's incremental writer (an independent writer), for the
verifier's tests: each appends one incremental update to the genuine file.

    forge_overlay.py IN.pdf OUT_DIR

Writes into OUT_DIR:
  listed.pdf      an unsigned signature-field widget covering page 1, listed in /AcroForm /Fields, whose
                  appearance paints the page white and draws new text
  unlisted.pdf    the same widget on page 1, only in the page's /Annots
  lastpage.pdf    the same widget on the last page (the certification page), listed
  freetext.pdf    a FreeText annotation with the same appearance on page 1
  content.pdf     a second content stream appended to page 1's /Contents
  hidden.pdf      an allowed change: an empty signature field whose widget is flagged Hidden
  zero.pdf        an allowed change: an empty signature field whose widget's rectangle has no area (its
                  appearance would paint the page, but an appearance is drawn inside the rectangle)
"""
import sys
from pathlib import Path

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.generic import pdf_name
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

PAINT = b"1 1 1 rg 0 0 %d %d re f BT /FZ9 36 Tf 0 0 0 rg 60 %d Td (FORGED COPY) Tj ET"


def font():
    return generic.DictionaryObject({
        pdf_name('/Type'): pdf_name('/Font'),
        pdf_name('/Subtype'): pdf_name('/Type1'),
        pdf_name('/BaseFont'): pdf_name('/Helvetica'),
    })


def page_box(page):
    box = page['/MediaBox']
    return [float(x) for x in box]


def appearance(w, box):
    x1, y1, x2, y2 = box
    width, height = int(x2 - x1), int(y2 - y1)
    stream = generic.StreamObject({
        pdf_name('/Type'): pdf_name('/XObject'),
        pdf_name('/Subtype'): pdf_name('/Form'),
        pdf_name('/BBox'): generic.ArrayObject([generic.FloatObject(0), generic.FloatObject(0),
                                                generic.FloatObject(width), generic.FloatObject(height)]),
        pdf_name('/Resources'): generic.DictionaryObject({
            pdf_name('/Font'): generic.DictionaryObject({pdf_name("/FZ9"): font()}),
        }),
    }, stream_data=PAINT % (width, height, height // 2))
    return w.add_object(stream)


def rect(box):
    return generic.ArrayObject([generic.FloatObject(v) for v in box])


def open_writer(src):
    return IncrementalPdfFileWriter(open(src, 'rb'))


def page_ref(w, index):
    ref, _ = w.find_page_for_modification(index)
    return ref


def add_widget(src, out, page_index, listed, subtype='/Widget', flags=4, visible=True):
    w = open_writer(src)
    pages = int(w.root['/Pages']['/Count'])
    index = page_index if page_index >= 0 else pages + page_index
    pref = page_ref(w, index)
    page = pref.get_object()
    box = page_box(page)
    annot = generic.DictionaryObject({
        pdf_name('/Type'): pdf_name('/Annot'),
        pdf_name('/Subtype'): pdf_name(subtype),
        pdf_name('/Rect'): rect(box if visible else [0, 0, 0, 0]),
        pdf_name('/F'): generic.NumberObject(flags),
        pdf_name('/P'): pref,
        pdf_name('/AP'): generic.DictionaryObject({pdf_name('/N'): appearance(w, box)}),
    })
    if subtype == '/Widget':
        annot[pdf_name('/FT')] = pdf_name('/Sig')
        annot[pdf_name('/T')] = generic.TextStringObject('Forged%d' % index)
    else:
        annot[pdf_name('/Contents')] = generic.TextStringObject('FORGED COPY')
    aref = w.add_object(annot)
    w.register_annotation(pref, aref)
    if listed:
        acroform = w.root['/AcroForm']
        fields = acroform['/Fields']
        fields.append(aref)
        # The field list may be direct in /AcroForm, which may be direct in the catalog.
        w.update_container(fields)
        w.update_root()
    with open(out, 'wb') as f:
        w.write(f)


def add_content(src, out):
    w = open_writer(src)
    pref = page_ref(w, 0)
    box = page_box(pref.get_object())
    x1, y1, x2, y2 = box
    data = PAINT % (int(x2 - x1), int(y2 - y1), int(y2 - y1) // 2)
    stream = generic.StreamObject({}, stream_data=data)
    w.add_stream_to_page(0, w.add_object(stream), resources=generic.DictionaryObject({
        pdf_name('/Font'): generic.DictionaryObject({pdf_name("/FZ9"): font()}),
    }))
    with open(out, 'wb') as f:
        w.write(f)


def main():
    src, out = Path(sys.argv[1]), Path(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    add_widget(src, out / 'listed.pdf', 0, listed=True)
    add_widget(src, out / 'unlisted.pdf', 0, listed=False)
    add_widget(src, out / 'lastpage.pdf', -1, listed=True)
    add_widget(src, out / 'freetext.pdf', 0, listed=False, subtype='/FreeText')
    add_content(src, out / 'content.pdf')
    add_widget(src, out / 'hidden.pdf', 0, listed=True, flags=2 | 4, visible=True)
    add_widget(src, out / 'zero.pdf', 0, listed=True, flags=4, visible=False)


if __name__ == '__main__':
    main()
