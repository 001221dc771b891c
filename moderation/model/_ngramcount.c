/* The inner loop of ngrams.NgramCounter, compiled: every window of a chunk of symbol ids is coded,
 * looked up in the counter's hash table (ngrams._CodeTable) and counted into CSR rows with sorted
 * column indices and no duplicates, one document at a time.
 *
 * Why: the numpy form of the same loop (_windows, _CodeTable.find, _block) builds every window code
 * as an array, probes the table array by array and sorts (row, column) pairs with two radix sorts. On
 * the benchmark's blog comments that was 26 of the character block's 33 us per comment
 * (benchmarks/README.md). The counts are integers, so the result is the same matrix to the bit
 * (tests/test_ngrams.py runs both forms on the same documents).
 *
 * Only the Python C API and the buffer protocol are used (no numpy headers), so building it needs a C
 * compiler and Python's headers, nothing else; without them ngrams.py keeps its numpy form.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Fibonacci hashing, as ngrams._CodeTable._home: the top bits of code x phi. */
static const uint64_t MULTIPLIER = 0x9E3779B97F4A7C15ULL;
/* Windows between a slot's prefetch and its probe. */
#define PREFETCH 16

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

static PyObject *
count(PyObject *self, PyObject *args)
{
    Py_buffer ids_b, groups_b, docs_b, table_b, indptr_b, indices_b, data_b;
    int shift, bits, min_n, max_n;
    Py_ssize_t n_features;
    PyObject *result = NULL;
    uint64_t *codes = NULL;
    int32_t *cols = NULL, *tmp = NULL;

    if (!PyArg_ParseTuple(args, "y*y*y*y*iiiinw*w*w*", &ids_b, &groups_b, &docs_b, &table_b, &shift, &bits,
                          &min_n, &max_n, &n_features, &indptr_b, &indices_b, &data_b))
        return NULL;

    const uint64_t *ids = ids_b.buf;
    const int64_t *groups = groups_b.buf, *docs = docs_b.buf;
    const uint64_t *table = table_b.buf; /* slot i: key at 2i (0: empty), column at 2i + 1 */
    int64_t *indptr = indptr_b.buf, *data = data_b.buf;
    int32_t *indices = indices_b.buf;

    if (check(&ids_b, 8, "ids") || check(&groups_b, 8, "groups") || check(&docs_b, 8, "docs") ||
        check(&table_b, 8, "table") || check(&indptr_b, 8, "indptr") || check(&indices_b, 4, "indices") ||
        check(&data_b, 8, "data"))
        goto done;

    Py_ssize_t n_symbols = ids_b.len / 8, n_groups = groups_b.len / 8, n_docs = docs_b.len / 8;
    Py_ssize_t n_slots = table_b.len / 16, capacity = indices_b.len / 4;
    if (table_b.len % 16 != 0 || n_slots == 0 || (n_slots & (n_slots - 1)) != 0) {
        PyErr_SetString(PyExc_ValueError, "table: a power of two of (key, column) slots");
        goto done;
    }
    if (indptr_b.len / 8 != n_docs + 1 || data_b.len / 8 != capacity) {
        PyErr_SetString(PyExc_ValueError, "indptr, indices or data: wrong size");
        goto done;
    }
    if (min_n < 1 || max_n < min_n || bits < 1 || (int64_t)bits * max_n > 64 || shift < 0 || shift > 63 ||
        n_features < 0 || n_features > INT32_MAX) {
        PyErr_SetString(PyExc_ValueError, "n-gram settings out of range");
        goto done;
    }
    /* Groups (words for char_wb, else documents) and documents must each tile the symbols exactly, and a
     * window stays inside both: this bounds every read. */
    const int windows_per_symbol = max_n - min_n + 1;
    int64_t total = 0, doc_total = 0, longest = 0;
    for (Py_ssize_t g = 0; g < n_groups; g++) {
        if (groups[g] < 0) { total = -1; break; }
        total += groups[g];
    }
    for (Py_ssize_t d = 0; d < n_docs; d++) {
        if (docs[d] < 0) { doc_total = -1; break; }
        doc_total += docs[d];
        if (docs[d] > longest) longest = docs[d];
    }
    if (total != n_symbols || doc_total != n_symbols) {
        PyErr_SetString(PyExc_ValueError, "group or document lengths do not add up to the symbols");
        goto done;
    }
    if (n_symbols > 0 && capacity < n_symbols * windows_per_symbol) {
        PyErr_SetString(PyExc_ValueError, "indices and data: too small for every window");
        goto done;
    }
    const uint64_t mask = (uint64_t)n_slots - 1;
    int passes = 0;
    for (int64_t top = n_features - 1; top > 0; top >>= 8) passes++;
    int64_t stored = 0;

    Py_BEGIN_ALLOW_THREADS

    /* Scratch for one document's windows, reused: the whole chunk's windows at once (several times the
     * memory) spent a third of the time in the kernel's page faults. */
    size_t scratch = (size_t)(longest * windows_per_symbol + 1);
    codes = malloc(sizeof(uint64_t) * scratch);
    cols = malloc(sizeof(int32_t) * scratch);
    tmp = malloc(sizeof(int32_t) * scratch);
    if (codes && cols && tmp) {
        Py_ssize_t p = 0, g = 0;
        int64_t group_end = 0;
        indptr[0] = 0;
        for (Py_ssize_t d = 0; d < n_docs && stored >= 0; d++) {
            /* 1. The document's windows, coded. */
            int64_t doc_end = p + docs[d];
            Py_ssize_t n_windows = 0;
            for (; p < doc_end; p++) {
                while (p >= group_end && g < n_groups) group_end += groups[g++];
                if (ids[p] == 0) continue; /* a window starting on an unknown symbol is never a term */
                int64_t room = (group_end < doc_end ? group_end : doc_end) - p;
                int top = room < max_n ? (int)room : max_n;
                uint64_t code = 0;
                for (int n = 1; n <= top; n++) {
                    code = (code << bits) | ids[p + n - 1];
                    if (n >= min_n) codes[n_windows++] = code;
                }
            }
            /* 2. Each looked up, the slot of the window PREFETCH ahead requested first: probing one at a
             * time waits on a cache miss of the table (4 MB for the shipped characters) each time. */
            Py_ssize_t n_hits = 0;
            for (Py_ssize_t w = 0; w < n_windows; w++) {
                if (w + PREFETCH < n_windows)
                    __builtin_prefetch(table + 2 * ((codes[w + PREFETCH] * MULTIPLIER) >> shift));
                uint64_t code = codes[w];
                uint64_t slot = (code * MULTIPLIER) >> shift;
                for (;;) {
                    uint64_t key = table[2 * slot];
                    if (key == code) {
                        uint64_t column = table[2 * slot + 1];
                        if (column >= (uint64_t)n_features) {
                            stored = -1;
                            break;
                        }
                        cols[n_hits++] = (int32_t)column;
                        break;
                    }
                    if (key == 0) break;
                    slot = (slot + 1) & mask;
                }
            }
            /* 3. The columns sorted, and each run of one column stored once with its length. */
            if (n_hits < 64)
                insertion_sort(cols, n_hits);
            else
                radix_sort(cols, tmp, n_hits, passes);
            for (Py_ssize_t i = 0; i < n_hits && stored >= 0; i++) {
                if (i > 0 && cols[i] == cols[i - 1]) {
                    data[stored - 1]++;
                } else {
                    indices[stored] = cols[i];
                    data[stored] = 1;
                    stored++;
                }
            }
            indptr[d + 1] = stored;
        }
    }

    Py_END_ALLOW_THREADS

    if (!(codes && cols && tmp)) {
        PyErr_NoMemory();
        goto done;
    }
    if (stored < 0) {
        PyErr_SetString(PyExc_ValueError, "a table column is out of range");
        goto done;
    }
    result = PyLong_FromSsize_t((Py_ssize_t)stored);

done:
    free(codes);
    free(cols);
    free(tmp);
    PyBuffer_Release(&ids_b);
    PyBuffer_Release(&groups_b);
    PyBuffer_Release(&docs_b);
    PyBuffer_Release(&table_b);
    PyBuffer_Release(&indptr_b);
    PyBuffer_Release(&indices_b);
    PyBuffer_Release(&data_b);
    return result;
}

static PyMethodDef methods[] = {
    {"count", count, METH_VARARGS,
     "count(ids, groups, docs, table, shift, bits, min_n, max_n, n_features, indptr, indices, data)"
     " -> the number of stored entries.\n\n"
     "Counts every window of min_n..max_n symbols inside its group (uint64 ids, int64 group and document"
     " lengths) found in the hash table (uint64 key, column pairs; key 0: empty) into CSR arrays (int64 indptr, int32"
     " indices, int64 data, the last two with room for every window)."},
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
