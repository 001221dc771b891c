/* The inner loop of ngrams.NgramCounter, compiled: a document's symbols (characters, or tokens for the
 * word analyzers) become ids, every window of min_n..max_n ids is coded as ngrams.py codes it, looked
 * up in the counter's hash table (ngrams._CodeTable) and counted into the document's CSR row, with
 * sorted column indices and no duplicates.
 *
 * Why: the numpy form builds every window code as an array, probes the table array by array and sorts
 * (row, column) pairs with two radix sorts, after Python has split, joined and encoded the documents.
 * On the benchmark's blog comments that was 35 us of the character block's ... per comment; numbers in
 * benchmarks/README.md. Counts are integers, so the result is the same matrix to the bit
 * (tests/test_ngrams.py runs every test with this module and without it).
 *
 * Entry points:
 *   count_chars(docs, wb, lut, ...)      the char and char_wb analyzers, from the documents themselves
 *   count_tokens(docs, rule, tokens, ...) the word analyzer (\w+ or \w\w+ tokens) and "split"
 *   token_slots(points, offsets, slots)   the token table count_tokens looks tokens up in
 *   count(ids, groups, docs, ...)         ids already made in Python (any other tokenizer)
 *   weigh(data, indices, indptr, idf, l2) the TF-IDF weights and l2 norm of the counts
 * Whitespace and word characters are Python's own (Py_UNICODE_ISSPACE, Py_UNICODE_ISALNUM), the ones
 * str.split() and the re module's \s and \w use.
 *
 * Only the Python C API and the buffer protocol are used (no numpy headers), so building it needs a C
 * compiler and Python's headers, nothing else; without them ngrams.py keeps its numpy form.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>

/* Fibonacci hashing, as ngrams._CodeTable._home: the top bits of code x phi. */
static const uint64_t MULTIPLIER = 0x9E3779B97F4A7C15ULL;
/* Windows between a slot's prefetch and its probe. */
#define PREFETCH 16

enum { OK = 0, BAD_COLUMN = -1, NO_ROOM = -2 };

/* The table, the n-gram settings, one document's scratch and the CSR output being written. */
typedef struct {
    const uint64_t *table; /* slot i: key at 2i (0: empty), column at 2i + 1 */
    uint64_t mask;
    int shift, bits, min_n, max_n, passes;
    int64_t n_features;
    uint64_t *ids, *codes;
    int64_t *groups;
    int32_t *cols, *tmp;
    int32_t *indices;
    int64_t *data, *indptr;
    int64_t stored, capacity;
} Counter;

static int
check(Py_buffer *view, Py_ssize_t itemsize, const char *name)
{
    if (view->itemsize != itemsize || view->len % itemsize != 0) {
        PyErr_Format(PyExc_ValueError, "%s: expected items of %zd bytes", name, itemsize);
        return -1;
    }
    return 0;
}

/* Sorts n column numbers below 2**(8 * passes), least significant byte first, through tmp. */
static void
radix_sort(int32_t *cols, int32_t *tmp, Py_ssize_t n, int passes)
{
    Py_ssize_t counts[256];
    int32_t *from = cols, *to = tmp;
    for (int pass = 0; pass < passes; pass++) {
        int shift = 8 * pass;
        memset(counts, 0, sizeof(counts));
        for (Py_ssize_t i = 0; i < n; i++) counts[(from[i] >> shift) & 255]++;
        Py_ssize_t at = 0;
        for (int b = 0; b < 256; b++) {
            Py_ssize_t c = counts[b];
            counts[b] = at;
            at += c;
        }
        for (Py_ssize_t i = 0; i < n; i++) to[counts[(from[i] >> shift) & 255]++] = from[i];
        int32_t *swap = from;
        from = to;
        to = swap;
    }
    if (from != cols) memcpy(cols, from, sizeof(int32_t) * (size_t)n);
}

static void
insertion_sort(int32_t *cols, Py_ssize_t n)
{
    for (Py_ssize_t i = 1; i < n; i++) {
        int32_t c = cols[i];
        Py_ssize_t j = i;
        for (; j > 0 && cols[j - 1] > c; j--) cols[j] = cols[j - 1];
        cols[j] = c;
    }
}

/* The next row: the windows of c->ids, cut into n_groups groups (c->groups) that no window crosses.
 * The scratch holds (max_n - min_n + 1) windows per id. */
static int
count_row(Counter *c, Py_ssize_t n_groups)
{
    const uint64_t *ids = c->ids;
    /* 1. Every window inside its group, coded. */
    Py_ssize_t n_windows = 0, p = 0;
    for (Py_ssize_t g = 0; g < n_groups; g++) {
        Py_ssize_t end = p + (Py_ssize_t)c->groups[g];
        for (; p < end; p++) {
            if (ids[p] == 0) continue; /* a window starting on an unknown symbol is never a term */
            Py_ssize_t room = end - p;
            int top = room < c->max_n ? (int)room : c->max_n;
            uint64_t code = 0;
            for (int n = 1; n <= top; n++) {
                code = (code << c->bits) | ids[p + n - 1];
                if (n >= c->min_n) c->codes[n_windows++] = code;
            }
        }
    }
    /* 2. Each looked up, the slot of the window PREFETCH ahead requested first: probing one at a time
     * waits on a cache miss of the table (4 MB for the shipped characters) each time. */
    Py_ssize_t n_hits = 0;
    const uint64_t *table = c->table;
    for (Py_ssize_t w = 0; w < n_windows; w++) {
        if (w + PREFETCH < n_windows) __builtin_prefetch(table + 2 * ((c->codes[w + PREFETCH] * MULTIPLIER) >> c->shift));
        uint64_t code = c->codes[w];
        uint64_t slot = (code * MULTIPLIER) >> c->shift;
        for (;;) {
            uint64_t key = table[2 * slot];
            if (key == code) {
                uint64_t column = table[2 * slot + 1];
                if (column >= (uint64_t)c->n_features) return BAD_COLUMN;
                c->cols[n_hits++] = (int32_t)column;
                break;
            }
            if (key == 0) break;
            slot = (slot + 1) & c->mask;
        }
    }
    /* 3. The columns sorted, and each run of one column stored once with its length. */
    if (c->stored + n_hits > c->capacity) return NO_ROOM;
    if (n_hits < 64)
        insertion_sort(c->cols, n_hits);
    else
        radix_sort(c->cols, c->tmp, n_hits, c->passes);
    int64_t stored = c->stored;
    for (Py_ssize_t i = 0; i < n_hits; i++) {
        if (i > 0 && c->cols[i] == c->cols[i - 1]) {
            c->data[stored - 1]++;
        } else {
            c->indices[stored] = c->cols[i];
            c->data[stored] = 1;
            stored++;
        }
    }
    c->stored = stored;
    return OK;
}

/* The table, settings and output buffers every entry point takes, checked; 0 or -1 with an error. */
static int
setup(Counter *c, Py_buffer *table_b, int shift, int bits, int min_n, int max_n, Py_ssize_t n_features,
      Py_buffer *indptr_b, Py_buffer *indices_b, Py_buffer *data_b, Py_ssize_t n_docs)
{
    memset(c, 0, sizeof(*c));
    if (check(table_b, 8, "table") || check(indptr_b, 8, "indptr") || check(indices_b, 4, "indices") ||
        check(data_b, 8, "data"))
        return -1;
    Py_ssize_t n_slots = table_b->len / 16;
    if (table_b->len % 16 != 0 || n_slots == 0 || (n_slots & (n_slots - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "table: a power of two of (key, column) slots");
        return -1;
    }
    if (indptr_b->len / 8 != n_docs + 1 || data_b->len / 8 != indices_b->len / 4) {
        PyErr_SetString(PyExc_ValueError, "indptr, indices or data: wrong size");
        return -1;
    }
    if (min_n < 1 || max_n < min_n || bits < 1 || (int64_t)bits * max_n > 64 || shift < 0 || shift > 63 ||
        n_features < 0 || n_features > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "n-gram settings out of range");
        return -1;
    }
    /* Every probe's home slot, (code x phi) >> shift, must be inside the table. */
    if (shift < 64 && ((uint64_t)n_slots - 1) < (UINT64_MAX >> shift)) {
        PyErr_SetString(PyExc_ValueError, "table: smaller than its shift addresses");
        return -1;
    }
    c->table = table_b->buf;
    c->mask = (uint64_t)n_slots - 1;
    c->shift = shift;
    c->bits = bits;
    c->min_n = min_n;
    c->max_n = max_n;
    c->n_features = n_features;
    for (int64_t top = n_features - 1; top > 0; top >>= 8) c->passes++;
    c->indptr = indptr_b->buf;
    c->indices = indices_b->buf;
    c->data = data_b->buf;
    c->capacity = indices_b->len / 4;
    return 0;
}

/* Scratch for documents of up to `symbols` ids. */
static int
allocate(Counter *c, Py_ssize_t symbols)
{
    size_t ids = (size_t)symbols + 1, windows = ids * (size_t)(c->max_n - c->min_n + 1);
    c->ids = malloc(sizeof(uint64_t) * ids);
    c->groups = malloc(sizeof(int64_t) * ids);
    c->codes = malloc(sizeof(uint64_t) * windows);
    c->cols = malloc(sizeof(int32_t) * windows);
    c->tmp = malloc(sizeof(int32_t) * windows);
    return c->ids && c->groups && c->codes && c->cols && c->tmp ? 0 : -1;
}

static void
release(Counter *c)
{
    free(c->ids);
    free(c->groups);
    free(c->codes);
    free(c->cols);
    free(c->tmp);
}

/* After counting: the error for a status, or the number of stored entries. */
static PyObject *
finish(int status, int allocated, Counter *c)
{
    if (!allocated) return PyErr_NoMemory();
    if (status == BAD_COLUMN) {
        PyErr_SetString(PyExc_ValueError, "a table column is out of range");
        return NULL;
    }
    if (status == NO_ROOM) {
        PyErr_SetString(PyExc_ValueError, "indices and data: too small for every window");
        return NULL;
    }
    return PyLong_FromLongLong(c->stored);
}

/* The documents of a list of str, held: their kind, data and length, read without the GIL. */
typedef struct {
    PyObject **held;
    Py_ssize_t n, longest;
} Documents;

static int
documents(PyObject *list, Documents *docs)
{
    docs->held = NULL;
    docs->n = docs->longest = 0;
    if (!PyList_Check(list)) {
        PyErr_SetString(PyExc_TypeError, "docs: a list of str");
        return -1;
    }
    Py_ssize_t n = PyList_GET_SIZE(list);
    docs->held = PyMem_Malloc(sizeof(PyObject *) * (size_t)(n + 1));
    if (!docs->held) {
        PyErr_NoMemory();
        return -1;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *doc = PyList_GET_ITEM(list, i);
        if (!PyUnicode_Check(doc)) {
            PyErr_SetString(PyExc_TypeError, "docs: a list of str");
            return -1;
        }
        Py_INCREF(doc);
        docs->held[docs->n++] = doc;
        if (PyUnicode_GET_LENGTH(doc) > docs->longest) docs->longest = PyUnicode_GET_LENGTH(doc);
    }
    return 0;
}

static void
let_go(Documents *docs)
{
    for (Py_ssize_t i = 0; i < docs->n; i++) Py_DECREF(docs->held[i]);
    PyMem_Free(docs->held);
}

/* ---------------------------------------------------------------------------------------------- */

static inline uint64_t
symbol(const uint64_t *lut, Py_ssize_t n_lut, Py_UCS4 ch)
{
    return lut[(Py_ssize_t)ch < n_lut - 1 ? (Py_ssize_t)ch : n_lut - 1]; /* the last entry: every larger */
}

static PyObject *
count_chars(PyObject *self, PyObject *args)
{
    PyObject *list, *result = NULL;
    int wb, shift, bits, min_n, max_n;
    Py_ssize_t n_features;
    Py_buffer lut_b, table_b, indptr_b, indices_b, data_b;
    if (!PyArg_ParseTuple(args, "O!py*y*iiiinw*w*w*", &PyList_Type, &list, &wb, &lut_b, &table_b, &shift, &bits,
                          &min_n, &max_n, &n_features, &indptr_b, &indices_b, &data_b))
        return NULL;
    Counter c;
    memset(&c, 0, sizeof(c));
    Documents docs = {NULL, 0, 0};
    int allocated = 0, status = OK;
    if (setup(&c, &table_b, shift, bits, min_n, max_n, n_features, &indptr_b, &indices_b, &data_b,
              PyList_GET_SIZE(list)) ||
        check(&lut_b, 8, "lut") || documents(list, &docs))
        goto done;
    if (lut_b.len == 0) {
        PyErr_SetString(PyExc_ValueError, "lut: empty");
        goto done;
    }
    const uint64_t *lut = lut_b.buf;
    Py_ssize_t n_lut = lut_b.len / 8;
    uint64_t space = symbol(lut, n_lut, ' ');

    Py_BEGIN_ALLOW_THREADS
    /* char_wb pads each word with a space on both sides: at most 3 symbols per character ("a b"). */
    allocated = allocate(&c, 3 * docs.longest + 2) == 0;
    c.indptr[0] = 0;
    for (Py_ssize_t d = 0; allocated && d < docs.n && status == OK; d++) {
        PyObject *doc = docs.held[d];
        int kind = PyUnicode_KIND(doc);
        const void *text = PyUnicode_DATA(doc);
        Py_ssize_t length = PyUnicode_GET_LENGTH(doc), n = 0, n_groups = 0;
        if (wb) {
            /* _char_wb_ngrams: the words of str.split(), each as " word ", one group each. */
            for (Py_ssize_t i = 0; i < length;) {
                while (i < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, text, i))) i++;
                if (i == length) break;
                Py_ssize_t start = n;
                c.ids[n++] = space;
                while (i < length) {
                    Py_UCS4 ch = PyUnicode_READ(kind, text, i);
                    if (Py_UNICODE_ISSPACE(ch)) break;
                    c.ids[n++] = symbol(lut, n_lut, ch);
                    i++;
                }
                c.ids[n++] = space;
                c.groups[n_groups++] = n - start;
            }
        } else {
            /* _white_spaces.sub(" ", doc): a run of two or more whitespace characters becomes one space. */
            for (Py_ssize_t i = 0; i < length;) {
                Py_UCS4 ch = PyUnicode_READ(kind, text, i);
                Py_ssize_t run = i + 1;
                if (Py_UNICODE_ISSPACE(ch)) {
                    while (run < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, text, run))) run++;
                    if (run - i > 1) ch = ' ';
                }
                c.ids[n++] = symbol(lut, n_lut, ch);
                i = run;
            }
            c.groups[n_groups++] = n;
        }
        status = count_row(&c, n_groups);
        c.indptr[d + 1] = c.stored;
    }
    Py_END_ALLOW_THREADS

    result = finish(status, allocated, &c);
done:
    release(&c);
    let_go(&docs);
    PyBuffer_Release(&lut_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&indptr_b);
    PyBuffer_Release(&indices_b);
    PyBuffer_Release(&data_b);
    return result;
}

/* ---------------------------------------------------------------------------------------------- */
/* Tokens: the vocabulary's distinct tokens, their code points laid end to end (points, offsets), and an
 * open-addressing table of their numbers 1..A by a hash of their code points (slots, 0: empty). */

static inline uint64_t
token_hash(int kind, const void *text, Py_ssize_t start, Py_ssize_t end)
{
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a over the code points */
    for (Py_ssize_t i = start; i < end; i++) {
        h ^= (uint64_t)PyUnicode_READ(kind, text, i);
        h *= 0x100000001b3ULL;
    }
    return h * MULTIPLIER;
}

typedef struct {
    const uint32_t *points;
    const int64_t *offsets;
    const int64_t *slots;
    Py_ssize_t n_tokens;
    uint64_t mask;
} Tokens;

static int
tokens_from(Tokens *t, Py_buffer *points_b, Py_buffer *offsets_b, Py_buffer *slots_b)
{
    if (check(points_b, 4, "points") || check(offsets_b, 8, "offsets") || check(slots_b, 8, "slots")) return -1;
    Py_ssize_t n_slots = slots_b->len / 8;
    t->points = points_b->buf;
    t->offsets = offsets_b->buf;
    t->slots = slots_b->buf;
    t->n_tokens = offsets_b->len / 8 - 1;
    t->mask = (uint64_t)n_slots - 1;
    if (t->n_tokens < 0 || n_slots == 0 || (n_slots & (n_slots - 1)) != 0 || n_slots <= t->n_tokens) {
        PyErr_SetString(PyExc_ValueError, "tokens: offsets or a power-of-two table of slots missing");
        return -1;
    }
    if (t->offsets[0] != 0 || t->offsets[t->n_tokens] != points_b->len / 4) {
        PyErr_SetString(PyExc_ValueError, "tokens: offsets do not cover the points");
        return -1;
    }
    for (Py_ssize_t i = 0; i < t->n_tokens; i++) {
        if (t->offsets[i + 1] < t->offsets[i]) {
            PyErr_SetString(PyExc_ValueError, "tokens: offsets go backwards");
            return -1;
        }
    }
    return 0;
}

static PyObject *
token_slots(PyObject *self, PyObject *args)
{
    Py_buffer points_b, offsets_b, slots_b;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*w*", &points_b, &offsets_b, &slots_b)) return NULL;
    Tokens t;
    int64_t *slots = slots_b.buf;
    if (tokens_from(&t, &points_b, &offsets_b, &slots_b)) goto done;
    memset(slots, 0, (size_t)slots_b.len);
    for (Py_ssize_t i = 0; i < t.n_tokens; i++) {
        uint64_t slot = token_hash(PyUnicode_4BYTE_KIND, t.points, t.offsets[i], t.offsets[i + 1]) & t.mask;
        while (slots[slot] != 0) slot = (slot + 1) & t.mask;
        slots[slot] = i + 1;
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&points_b);
    PyBuffer_Release(&offsets_b);
    PyBuffer_Release(&slots_b);
    return result;
}

/* The number of the token text[start:end], 0 if the vocabulary has no such token. */
static inline uint64_t
token_id(const Tokens *t, int kind, const void *text, Py_ssize_t start, Py_ssize_t end)
{
    uint64_t slot = token_hash(kind, text, start, end) & t->mask;
    for (uint64_t probes = 0; probes <= t->mask; probes++) {
        int64_t number = t->slots[slot];
        if (number <= 0 || number > t->n_tokens) return 0;
        int64_t from = t->offsets[number - 1], to = t->offsets[number];
        if (to - from == end - start) {
            Py_ssize_t i = 0;
            while (i < end - start && t->points[from + i] == PyUnicode_READ(kind, text, start + i)) i++;
            if (i == end - start) return (uint64_t)number;
        }
        slot = (slot + 1) & t->mask;
    }
    return 0;
}

static inline int
word_char(Py_UCS4 ch)
{
    return ch == '_' || Py_UNICODE_ISALNUM(ch); /* the re module's \w on str */
}

enum { WORDS = 1, LONG_WORDS = 2, SPLIT = 3 }; /* \w+, \w\w+ (scikit-learn's default), str.split() */

static PyObject *
count_tokens(PyObject *self, PyObject *args)
{
    PyObject *list, *result = NULL;
    int rule, shift, bits, min_n, max_n;
    Py_ssize_t n_features;
    Py_buffer points_b, offsets_b, slots_b, table_b, indptr_b, indices_b, data_b;
    if (!PyArg_ParseTuple(args, "O!iy*y*y*y*iiiinw*w*w*", &PyList_Type, &list, &rule, &points_b, &offsets_b,
                          &slots_b, &table_b, &shift, &bits, &min_n, &max_n, &n_features, &indptr_b, &indices_b,
                          &data_b))
        return NULL;
    Counter c;
    memset(&c, 0, sizeof(c));
    Tokens t;
    Documents docs = {NULL, 0, 0};
    int allocated = 0, status = OK;
    if (setup(&c, &table_b, shift, bits, min_n, max_n, n_features, &indptr_b, &indices_b, &data_b,
              PyList_GET_SIZE(list)) ||
        tokens_from(&t, &points_b, &offsets_b, &slots_b) || documents(list, &docs))
        goto done;
    if (rule != WORDS && rule != LONG_WORDS && rule != SPLIT) {
        PyErr_SetString(PyExc_ValueError, "rule: 1 (\\w+), 2 (\\w\\w+) or 3 (whitespace)");
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    allocated = allocate(&c, docs.longest) == 0;
    c.indptr[0] = 0;
    for (Py_ssize_t d = 0; allocated && d < docs.n && status == OK; d++) {
        PyObject *doc = docs.held[d];
        int kind = PyUnicode_KIND(doc);
        const void *text = PyUnicode_DATA(doc);
        Py_ssize_t length = PyUnicode_GET_LENGTH(doc), n = 0;
        for (Py_ssize_t i = 0; i < length;) {
            Py_ssize_t start, end;
            if (rule == SPLIT) {
                while (i < length && Py_UNICODE_ISSPACE(PyUnicode_READ(kind, text, i))) i++;
                start = i;
                while (i < length && !Py_UNICODE_ISSPACE(PyUnicode_READ(kind, text, i))) i++;
            } else {
                while (i < length && !word_char(PyUnicode_READ(kind, text, i))) i++;
                start = i;
                while (i < length && word_char(PyUnicode_READ(kind, text, i))) i++;
            }
            end = i;
            if (end == start || (rule == LONG_WORDS && end - start < 2)) continue;
            c.ids[n++] = token_id(&t, kind, text, start, end);
        }
        c.groups[0] = n;
        status = count_row(&c, 1);
        c.indptr[d + 1] = c.stored;
    }
    Py_END_ALLOW_THREADS

    result = finish(status, allocated, &c);
done:
    release(&c);
    let_go(&docs);
    PyBuffer_Release(&points_b);
    PyBuffer_Release(&offsets_b);
    PyBuffer_Release(&slots_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&indptr_b);
    PyBuffer_Release(&indices_b);
    PyBuffer_Release(&data_b);
    return result;
}

/* ---------------------------------------------------------------------------------------------- */

static PyObject *
count(PyObject *self, PyObject *args)
{
    Py_buffer ids_b, groups_b, docs_b, table_b, indptr_b, indices_b, data_b;
    int shift, bits, min_n, max_n;
    Py_ssize_t n_features;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*y*iiiinw*w*w*", &ids_b, &groups_b, &docs_b, &table_b, &shift, &bits,
                          &min_n, &max_n, &n_features, &indptr_b, &indices_b, &data_b))
        return NULL;
    Counter c;
    memset(&c, 0, sizeof(c));
    int allocated = 0, status = OK;
    if (check(&ids_b, 8, "ids") || check(&groups_b, 8, "groups") || check(&docs_b, 8, "docs") ||
        setup(&c, &table_b, shift, bits, min_n, max_n, n_features, &indptr_b, &indices_b, &data_b, docs_b.len / 8))
        goto done;
    const uint64_t *ids = ids_b.buf;
    const int64_t *groups = groups_b.buf, *lengths = docs_b.buf;
    Py_ssize_t n_symbols = ids_b.len / 8, n_groups = groups_b.len / 8, n_docs = docs_b.len / 8;
    /* Groups (words for char_wb, else documents) must tile the documents, which must tile the symbols. */
    int64_t total = 0, longest = 0, most_groups = 0;
    Py_ssize_t g = 0;
    for (Py_ssize_t d = 0; d < n_docs && total >= 0; d++) {
        int64_t left = lengths[d], in_doc = 0;
        if (left < 0) total = -1;
        while (total >= 0 && left > 0 && g < n_groups) {
            if (groups[g] < 0 || groups[g] > left) total = -1;
            else left -= groups[g++], in_doc++;
        }
        while (total >= 0 && g < n_groups && groups[g] == 0) g++, in_doc++;
        if (left != 0) total = -1;
        if (total >= 0) total += lengths[d];
        if (lengths[d] > longest) longest = lengths[d];
        if (in_doc > most_groups) most_groups = in_doc;
    }
    if (total != n_symbols || g != n_groups) {
        PyErr_SetString(PyExc_ValueError, "group or document lengths do not add up to the symbols");
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    allocated = allocate(&c, longest > most_groups ? longest : most_groups) == 0;
    c.indptr[0] = 0;
    Py_ssize_t p = 0;
    g = 0;
    for (Py_ssize_t d = 0; allocated && d < n_docs && status == OK; d++) {
        Py_ssize_t n_in = 0;
        int64_t left = lengths[d];
        memcpy(c.ids, ids + p, sizeof(uint64_t) * (size_t)left);
        p += left;
        while (g < n_groups && (left > 0 || groups[g] == 0)) {
            c.groups[n_in++] = groups[g];
            left -= groups[g++];
        }
        status = count_row(&c, n_in);
        c.indptr[d + 1] = c.stored;
    }
    Py_END_ALLOW_THREADS

    result = finish(status, allocated, &c);
done:
    release(&c);
    PyBuffer_Release(&ids_b);
    PyBuffer_Release(&groups_b);
    PyBuffer_Release(&docs_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&indptr_b);
    PyBuffer_Release(&indices_b);
    PyBuffer_Release(&data_b);
    return result;
}

/* ---------------------------------------------------------------------------------------------- */

static inline int64_t
index_at(const Py_buffer *view, Py_ssize_t i)
{
    return view->itemsize == 4 ? ((const int32_t *)view->buf)[i] : ((const int64_t *)view->buf)[i];
}

/* ngrams.tfidf after its sublinear step: each entry times its column's idf, then (l2) each row divided
 * by its Euclidean length, summed entry by entry in order as np.bincount sums the squares. Compiled
 * with -ffp-contract=off (setup.py), so that no multiply-add is fused: the same roundings as numpy's
 * separate operations, and the same bits (tests/test_ngrams.py). */
static PyObject *
weigh(PyObject *self, PyObject *args)
{
    Py_buffer data_b, indices_b, indptr_b, idf_b;
    int l2;
    PyObject *result = NULL;
    if (!PyArg_ParseTuple(args, "w*y*y*y*p", &data_b, &indices_b, &indptr_b, &idf_b, &l2)) return NULL;
    if (data_b.itemsize != 8 || idf_b.itemsize != 8 || (indices_b.itemsize != 4 && indices_b.itemsize != 8) ||
        (indptr_b.itemsize != 4 && indptr_b.itemsize != 8) || indptr_b.len == 0) {
        PyErr_SetString(PyExc_ValueError, "weigh: float64 data and idf, int32 or int64 indices and indptr");
        goto done;
    }
    double *data = data_b.buf;
    const double *idf = idf_b.buf;
    Py_ssize_t nnz = data_b.len / 8, n_idf = idf_b.len / 8, n_rows = indptr_b.len / indptr_b.itemsize - 1;
    if (indices_b.len / indices_b.itemsize != nnz || index_at(&indptr_b, 0) != 0 ||
        index_at(&indptr_b, n_rows) != nnz) {
        PyErr_SetString(PyExc_ValueError, "weigh: indptr does not cover the entries");
        goto done;
    }
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        if (index_at(&indptr_b, r + 1) < index_at(&indptr_b, r)) {
            PyErr_SetString(PyExc_ValueError, "weigh: indptr goes backwards");
            goto done;
        }
    }
    for (Py_ssize_t i = 0; i < nnz; i++) {
        int64_t column = index_at(&indices_b, i);
        if (column < 0 || column >= n_idf) {
            PyErr_SetString(PyExc_ValueError, "weigh: a column past the idf");
            goto done;
        }
    }
    for (Py_ssize_t r = 0; r < n_rows; r++) {
        Py_ssize_t start = (Py_ssize_t)index_at(&indptr_b, r), end = (Py_ssize_t)index_at(&indptr_b, r + 1);
        double sum = 0.0;
        for (Py_ssize_t i = start; i < end; i++) {
            double value = data[i] * idf[index_at(&indices_b, i)];
            data[i] = value;
            double square = value * value;
            sum = sum + square;
        }
        if (l2 && sum != 0.0) {
            double length = sqrt(sum);
            for (Py_ssize_t i = start; i < end; i++) data[i] = data[i] / length;
        }
    }
    result = Py_NewRef(Py_None);
done:
    PyBuffer_Release(&data_b);
    PyBuffer_Release(&indices_b);
    PyBuffer_Release(&indptr_b);
    PyBuffer_Release(&idf_b);
    return result;
}

static PyMethodDef methods[] = {
    {"weigh", weigh, METH_VARARGS,
     "weigh(data, indices, indptr, idf, l2): data (float64, in place) times idf[indices], each row then"
     " divided by its l2 length when l2 is true and the length is not 0."},
    {"count_chars", count_chars, METH_VARARGS,
     "count_chars(docs, wb, lut, table, shift, bits, min_n, max_n, n_features, indptr, indices, data) -> stored\n\n"
     "The char (wb false) or char_wb analyzer's windows of a list of str, symbols from lut (uint64, indexed by"
     " code point, the last entry for every larger one), into CSR arrays (int64 indptr, int32 indices, int64"
     " data, the last two with room for every window)."},
    {"count_tokens", count_tokens, METH_VARARGS,
     "count_tokens(docs, rule, points, offsets, slots, table, shift, bits, min_n, max_n, n_features, indptr,"
     " indices, data) -> stored\n\n"
     "The word windows of a list of str, tokens by rule 1 (\\w+), 2 (\\w\\w+) or 3 (whitespace) numbered by"
     " the token table (token_slots)."},
    {"token_slots", token_slots, METH_VARARGS,
     "token_slots(points, offsets, slots): fills slots (int64, a power of two above the number of tokens)"
     " with the tokens' numbers, by a hash of their code points (uint32 points, int64 offsets)."},
    {"count", count, METH_VARARGS,
     "count(ids, groups, docs, table, shift, bits, min_n, max_n, n_features, indptr, indices, data) -> stored\n\n"
     "The windows of symbol ids made in Python (uint64), cut into groups and documents (int64 lengths)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ngramcount", "The compiled inner loop of moderation.model.ngrams.", -1, methods,
};

PyMODINIT_FUNC
PyInit__ngramcount(void)
{
    return PyModule_Create(&module);
}
