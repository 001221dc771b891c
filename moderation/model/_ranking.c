/* The selection explain._first makes for every row's reasons and evidence, compiled: per segment of
 * keys, where its k smallest are, in order, equal keys in the order they come (a stable sort's first
 * k), in one pass over the segment with the k best kept in order.
 *
 * Why: the numpy form bounds each segment by chunk minima, then sorts what is left with np.lexsort;
 * for a batch with reasons it was about a quarter of explain_rows (py-spy, 80,000 benchmark
 * comments). Keys are compared, never computed, so the places are the same (tests/test_reasons_batch.py
 * runs the stable-sort check on both forms).
 *
 * Only the Python C API and the buffer protocol; built by setup.py where a C compiler is found.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <math.h>
#include <stdint.h>

/* NaN after every number (np.lexsort's place for it), so a NaN is never taken before a number. */
static inline int
less(double a, double b)
{
    return !isnan(a) && (isnan(b) || a < b);
}

static PyObject *
first_k(PyObject *self, PyObject *args)
{
    Py_buffer keys_b, starts_b, counts_b, out_b;
    int k;
    PyObject *result = NULL;
    double *best = NULL;
    if (!PyArg_ParseTuple(args, "y*y*y*iw*", &keys_b, &starts_b, &counts_b, &k, &out_b)) return NULL;
    Py_ssize_t n_keys = keys_b.len / 8, n = starts_b.len / 8;
    if (keys_b.itemsize != 8 || starts_b.itemsize != 8 || counts_b.itemsize != 8 || out_b.itemsize != 8 ||
        counts_b.len != starts_b.len || k < 1 || out_b.len / 8 != n * (Py_ssize_t)k) {
        PyErr_SetString(PyExc_ValueError, "first_k: float64 keys, int64 starts and counts, int64 out of n x k");
        goto done;
    }
    const double *keys = keys_b.buf;
    const int64_t *starts = starts_b.buf, *counts = counts_b.buf;
    int64_t *out = out_b.buf;
    for (Py_ssize_t s = 0; s < n; s++) {
        if (starts[s] < 0 || counts[s] < 0 || starts[s] > n_keys - counts[s]) {
            PyErr_SetString(PyExc_ValueError, "first_k: a segment reaches past the keys");
            goto done;
        }
    }
    best = PyMem_Malloc(sizeof(double) * (size_t)k);
    if (!best) {
        PyErr_NoMemory();
        goto done;
    }

    Py_BEGIN_ALLOW_THREADS
    for (Py_ssize_t s = 0; s < n; s++) {
        int64_t *row = out + s * k;
        int filled = 0;
        for (int j = 0; j < k; j++) row[j] = -1;
        for (int64_t i = starts[s], end = starts[s] + counts[s]; i < end; i++) {
            double key = keys[i];
            if (filled == k && !less(key, best[k - 1])) continue;
            /* Placed after every kept key it is not less than: of equal keys, the first to come stays first. */
            int j = filled < k ? filled++ : k - 1;
            for (; j > 0 && less(key, best[j - 1]); j--) {
                best[j] = best[j - 1];
                row[j] = row[j - 1];
            }
            best[j] = key;
            row[j] = i;
        }
    }
    Py_END_ALLOW_THREADS

    result = Py_NewRef(Py_None);
done:
    PyMem_Free(best);
    PyBuffer_Release(&keys_b);
    PyBuffer_Release(&starts_b);
    PyBuffer_Release(&counts_b);
    PyBuffer_Release(&out_b);
    return result;
}

static PyMethodDef methods[] = {
    {"first_k", first_k, METH_VARARGS,
     "first_k(keys, starts, counts, k, out): out[s] (int64, n x k, -1 past a segment's end) gets where"
     " the k smallest of keys[starts[s] : starts[s] + counts[s]] (float64) are, in a stable sort's order."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_ranking", "The compiled selection of moderation.model.explain.", -1, methods,
};

PyMODINIT_FUNC
PyInit__ranking(void)
{
    return PyModule_Create(&module);
}
