/* kgen's fast YAML reader: libyaml's events straight to Python values, with positions kept in C.
 *
 * PyYAML's C loader spends three quarters of its time making a Python node object (and two mark
 * objects) for every scalar, key and collection; kgen needs those only to tell where a finding
 * is.  This module builds the values kgen's Python loader builds and, beside them, one compact
 * table of line, column and offset per node, which answers kgen.loader's locate() in C.
 *
 * It reads only the plain cases: a document with an anchor, alias, tag, merge key, duplicate
 * key, complex key, very deep nesting or any error makes load() raise Fallback, and kgen reads
 * the whole file again with PyYAML (the one source of truth for every unusual case).  Plain
 * scalars that could be something other than a string are typed by a function kgen passes
 * in (PyYAML's resolvers, as kgen reads them), through a cache kgen owns: the two readers
 * cannot differ on what a scalar means.  Marks are libyaml's, as PyYAML's are.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <yaml.h>
#include <stdint.h>
#include <string.h>

#define ABI_VERSION 3
#define MAX_DEPTH 256

enum { KIND_SCALAR = 0, KIND_SEQUENCE = 1, KIND_MAPPING = 2 };

typedef struct {
    Py_ssize_t index; /* characters from the start of the text, as PyYAML's marks */
    int32_t line, column; /* 0-based, as PyYAML's marks */
    int32_t kind, first, count; /* children: entries[first .. first + count) */
} Node;

typedef struct {
    PyObject *key; /* owned; NULL for a sequence item */
    int32_t line, column; /* the key's (a map entry), 0-based; unused for items */
    int32_t child; /* the value's node */
} Entry;

typedef struct {
    Py_ssize_t refs;
    Node *nodes;
    Py_ssize_t n_nodes, cap_nodes;
    Entry *entries;
    Py_ssize_t n_entries, cap_entries;
} Tree;

static PyObject *Fallback;
static PyObject *plain_cache; /* text -> (value, key text or None for a merge key) */
static PyObject *plain_resolver; /* text -> the same tuple, on a cache miss */
static char needs_resolving[256]; /* first bytes of plain scalars that may not be strings */
static Py_ssize_t longest[256]; /* and the longest such a scalar can be (characters), -1: any */

static void tree_release(Tree *tree) {
    if (tree == NULL || --tree->refs > 0)
        return;
    for (Py_ssize_t i = 0; i < tree->n_entries; i++)
        Py_XDECREF(tree->entries[i].key);
    PyMem_Free(tree->nodes);
    PyMem_Free(tree->entries);
    PyMem_Free(tree);
}

static int grow(void **items, Py_ssize_t *cap, Py_ssize_t need, size_t size) {
    if (need <= *cap)
        return 0;
    Py_ssize_t cap2 = *cap ? *cap * 2 : 64;
    while (cap2 < need)
        cap2 *= 2;
    void *bigger = PyMem_Realloc(*items, (size_t)cap2 * size);
    if (bigger == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    *items = bigger;
    *cap = cap2;
    return 0;
}

/* ---- Positions: a node of a document's table, as kgen.loader asks for positions ---- */

typedef struct {
    PyObject_HEAD
    Tree *tree;
    int32_t root;
} Positions;

static PyTypeObject PositionsType;

static PyObject *positions_new(Tree *tree, int32_t root) {
    Positions *self = PyObject_New(Positions, &PositionsType);
    if (self == NULL)
        return NULL;
    tree->refs++;
    self->tree = tree;
    self->root = root;
    return (PyObject *)self;
}

static void positions_dealloc(Positions *self) {
    tree_release(self->tree);
    PyObject_Free(self);
}

/* One step along a path from node `at`: the entry (key or item) it passes, or NULL. */
static const Entry *step(const Tree *tree, int32_t at, PyObject *part) {
    const Node *node = &tree->nodes[at];
    const Entry *entries = tree->entries + node->first;
    if (node->kind == KIND_MAPPING && PyUnicode_Check(part)) {
        Py_ssize_t length = PyUnicode_GET_LENGTH(part);
        for (int32_t i = 0; i < node->count; i++) {
            PyObject *key = entries[i].key;
            if (key == part || (PyUnicode_GET_LENGTH(key) == length && PyUnicode_Compare(key, part) == 0))
                return &entries[i];
        }
        return NULL;
    }
    if (node->kind == KIND_SEQUENCE && PyLong_Check(part)) {
        int overflow = 0;
        long long index = PyLong_AsLongLongAndOverflow(part, &overflow);
        if (overflow || index < 0 || index >= node->count)
            return NULL;
        return &entries[index];
    }
    return NULL;
}

static PyObject *line_column(Py_ssize_t line, Py_ssize_t column) {
    return Py_BuildValue("(nn)", line + 1, column + 1);
}

/* locate(path): 1-based (line, column) of the key or item `path` ends at, or of the nearest
 * existing parent's (kgen.loader.locate_node). */
static PyObject *positions_locate(Positions *self, PyObject *path) {
    PyObject *iterator = PyObject_GetIter(path);
    if (iterator == NULL)
        return NULL;
    const Tree *tree = self->tree;
    int32_t at = self->root;
    Py_ssize_t line = tree->nodes[at].line, column = tree->nodes[at].column;
    PyObject *part;
    while ((part = PyIter_Next(iterator)) != NULL) {
        const Entry *entry = step(tree, at, part);
        Py_DECREF(part);
        if (entry == NULL)
            break;
        at = entry->child;
        if (entry->key != NULL) {
            line = entry->line;
            column = entry->column;
        } else {
            line = tree->nodes[at].line;
            column = tree->nodes[at].column;
        }
    }
    Py_DECREF(iterator);
    if (PyErr_Occurred())
        return NULL;
    return line_column(line, column);
}

/* The node at exactly `path`, or -1. */
static int32_t find(const Tree *tree, int32_t at, PyObject *path) {
    PyObject *iterator = PyObject_GetIter(path);
    if (iterator == NULL)
        return -2;
    PyObject *part;
    while (at >= 0 && (part = PyIter_Next(iterator)) != NULL) {
        const Entry *entry = step(tree, at, part);
        Py_DECREF(part);
        at = entry == NULL ? -1 : entry->child;
    }
    Py_DECREF(iterator);
    return PyErr_Occurred() ? -2 : at;
}

/* at(path): the Positions of the node at exactly `path`, or None. */
static PyObject *positions_at(Positions *self, PyObject *path) {
    int32_t at = find(self->tree, self->root, path);
    if (at == -2)
        return NULL;
    if (at < 0)
        Py_RETURN_NONE;
    return positions_new(self->tree, at);
}

static PyObject *positions_start(Positions *self, void *closure) {
    return PyLong_FromSsize_t(self->tree->nodes[self->root].index);
}

static PyMethodDef positions_methods[] = {
    {"locate", (PyCFunction)positions_locate, METH_O, "1-based (line, column) of the key or item a path ends at, or of its nearest existing parent."},
    {"at", (PyCFunction)positions_at, METH_O, "The positions of the node at exactly a path, or None."},
    {NULL},
};

static PyGetSetDef positions_getset[] = {
    {"start", (getter)positions_start, NULL, "The node's offset in the text, in characters.", NULL},
    {NULL},
};

static PyTypeObject PositionsType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "_kgen_yaml.Positions",
    .tp_basicsize = sizeof(Positions),
    .tp_dealloc = (destructor)positions_dealloc,
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_doc = "Where each node of a YAML document was written.",
    .tp_methods = positions_methods,
    .tp_getset = positions_getset,
};

/* ---- load(): events to values and tables ---- */

typedef struct {
    PyObject *container; /* owned */
    int32_t node;
    int is_mapping;
    Py_ssize_t pending_base; /* where this collection's entries start on the pending stack */
    PyObject *key; /* owned: a mapping's key waiting for its value */
    int32_t key_line, key_column;
} Frame;

typedef struct {
    yaml_parser_t parser;
    yaml_event_t event;
    int has_event;
    Tree *tree; /* the current document's */
    PyObject *root; /* owned: the current document's value */
    Frame frames[MAX_DEPTH];
    int depth;
    Entry *pending; /* entries of the open collections, innermost last; keys owned */
    Py_ssize_t n_pending, cap_pending;
} Reader;

static int fallback(void) {
    PyErr_SetNone(Fallback);
    return -1;
}

static int32_t add_node(Reader *reader, int kind, const yaml_mark_t *mark) {
    Tree *tree = reader->tree;
    if (grow((void **)&tree->nodes, &tree->cap_nodes, tree->n_nodes + 1, sizeof(Node)) < 0)
        return -1;
    if (mark->line > INT32_MAX || mark->column > INT32_MAX || tree->n_nodes >= INT32_MAX)
        return fallback();
    Node *node = &tree->nodes[tree->n_nodes];
    node->index = (Py_ssize_t)mark->index;
    node->line = (int32_t)mark->line;
    node->column = (int32_t)mark->column;
    node->kind = kind;
    node->first = 0;
    node->count = 0;
    return (int32_t)tree->n_nodes++;
}

/* A plain scalar's meaning: (value, key text or None) from kgen's cache or resolver. */
static PyObject *resolve_plain(PyObject *text) {
    PyObject *known = PyDict_GetItemWithError(plain_cache, text);
    if (known != NULL) {
        Py_INCREF(known);
        return known;
    }
    if (PyErr_Occurred())
        return NULL;
    known = PyObject_CallOneArg(plain_resolver, text);
    if (known != NULL && !(PyTuple_Check(known) && PyTuple_GET_SIZE(known) == 2)) {
        Py_DECREF(known);
        PyErr_SetString(PyExc_TypeError, "the plain-scalar resolver must return a pair");
        return NULL;
    }
    return known;
}

/* What the plain scalar ``text`` means as a value (0) or as a key (1): a new reference, and
 * ``text``'s is released, as kgen's resolver says (resolve_plain). */
static PyObject *meaning_of(PyObject *text, Py_ssize_t as) {
    PyObject *meaning = resolve_plain(text);
    Py_DECREF(text);
    if (meaning == NULL)
        return NULL;
    PyObject *part = PyTuple_GET_ITEM(meaning, as);
    Py_INCREF(part);
    Py_DECREF(meaning);
    return part;
}

/* Attach a finished value (and its node) to the open collection, or make it the document. */
static int attach(Reader *reader, PyObject *value, int32_t node) {
    if (reader->depth == 0) {
        reader->root = value; /* the reference passes to the reader */
        return 0;
    }
    Frame *frame = &reader->frames[reader->depth - 1];
    if (grow((void **)&reader->pending, &reader->cap_pending, reader->n_pending + 1, sizeof(Entry)) < 0) {
        Py_DECREF(value);
        return -1;
    }
    Entry *entry = &reader->pending[reader->n_pending];
    entry->child = node;
    if (frame->is_mapping) {
        int present = PyDict_Contains(frame->container, frame->key);
        if (present != 0 || PyDict_SetItem(frame->container, frame->key, value) < 0) {
            Py_DECREF(value);
            return present > 0 ? fallback() : -1; /* a duplicate key: PyYAML's reader says so */
        }
        entry->key = frame->key; /* the frame's reference passes to the entry */
        entry->line = frame->key_line;
        entry->column = frame->key_column;
        frame->key = NULL;
    } else {
        if (PyList_Append(frame->container, value) < 0) {
            Py_DECREF(value);
            return -1;
        }
        entry->key = NULL;
        entry->line = entry->column = 0;
    }
    reader->n_pending++;
    Py_DECREF(value);
    return 0;
}

static int on_scalar(Reader *reader) {
    yaml_event_t *event = &reader->event;
    if (event->data.scalar.anchor != NULL || event->data.scalar.tag != NULL)
        return fallback();
    const char *bytes = (const char *)event->data.scalar.value;
    PyObject *text = PyUnicode_DecodeUTF8(bytes, (Py_ssize_t)event->data.scalar.length, "strict");
    if (text == NULL)
        return -1;
    unsigned char first = event->data.scalar.length ? (unsigned char)bytes[0] : 0;
    int resolve = event->data.scalar.plain_implicit &&
                  (first == 0 || (needs_resolving[first] && (longest[first] < 0 || PyUnicode_GET_LENGTH(text) <= longest[first])));
    Frame *frame = reader->depth ? &reader->frames[reader->depth - 1] : NULL;
    if (frame != NULL && frame->is_mapping && frame->key == NULL) { /* a key */
        if (resolve && (text = meaning_of(text, 1)) == NULL)
            return -1;
        if (text == Py_None) { /* a merge key (<<) */
            Py_DECREF(text);
            return fallback();
        }
        frame->key = text;
        frame->key_line = (int32_t)event->start_mark.line;
        frame->key_column = (int32_t)event->start_mark.column;
        return 0;
    }
    PyObject *value = resolve ? meaning_of(text, 0) : text;
    if (value == NULL)
        return -1;
    int32_t node = add_node(reader, KIND_SCALAR, &event->start_mark);
    if (node < 0) {
        Py_DECREF(value);
        return -1;
    }
    return attach(reader, value, node);
}

static int on_collection_start(Reader *reader, int is_mapping) {
    yaml_event_t *event = &reader->event;
    const yaml_char_t *anchor = is_mapping ? event->data.mapping_start.anchor : event->data.sequence_start.anchor;
    const yaml_char_t *tag = is_mapping ? event->data.mapping_start.tag : event->data.sequence_start.tag;
    if (anchor != NULL || tag != NULL || reader->depth >= MAX_DEPTH)
        return fallback();
    if (reader->depth && reader->frames[reader->depth - 1].is_mapping && reader->frames[reader->depth - 1].key == NULL)
        return fallback(); /* a collection as a mapping key */
    PyObject *container = is_mapping ? PyDict_New() : PyList_New(0);
    if (container == NULL)
        return -1;
    int32_t node = add_node(reader, is_mapping ? KIND_MAPPING : KIND_SEQUENCE, &event->start_mark);
    if (node < 0) {
        Py_DECREF(container);
        return -1;
    }
    Py_INCREF(container); /* one reference for the parent (or document), one for the frame */
    if (attach(reader, container, node) < 0) {
        Py_DECREF(container);
        return -1;
    }
    Frame *frame = &reader->frames[reader->depth++];
    frame->container = container;
    frame->node = node;
    frame->is_mapping = is_mapping;
    frame->pending_base = reader->n_pending;
    frame->key = NULL;
    return 0;
}

static int on_collection_end(Reader *reader) {
    Frame *frame = &reader->frames[reader->depth - 1];
    Tree *tree = reader->tree;
    Py_ssize_t count = reader->n_pending - frame->pending_base;
    if (grow((void **)&tree->entries, &tree->cap_entries, tree->n_entries + count, sizeof(Entry)) < 0)
        return -1;
    if (tree->n_entries > INT32_MAX - count)
        return fallback();
    memcpy(tree->entries + tree->n_entries, reader->pending + frame->pending_base, (size_t)count * sizeof(Entry));
    Node *node = &tree->nodes[frame->node];
    node->first = (int32_t)tree->n_entries;
    node->count = (int32_t)count;
    tree->n_entries += count;
    reader->n_pending = frame->pending_base; /* the keys now belong to the tree */
    Py_DECREF(frame->container);
    Py_XDECREF(frame->key);
    reader->depth--;
    return 0;
}

static void reader_clear_document(Reader *reader) {
    while (reader->depth > 0) {
        Frame *frame = &reader->frames[--reader->depth];
        Py_DECREF(frame->container);
        Py_XDECREF(frame->key);
    }
    for (Py_ssize_t i = 0; i < reader->n_pending; i++)
        Py_XDECREF(reader->pending[i].key);
    reader->n_pending = 0;
    Py_CLEAR(reader->root);
    tree_release(reader->tree);
    reader->tree = NULL;
}

static int next_event(Reader *reader) {
    if (reader->has_event) {
        yaml_event_delete(&reader->event);
        reader->has_event = 0;
    }
    if (!yaml_parser_parse(&reader->parser, &reader->event))
        return fallback(); /* PyYAML reads the file again and words the error */
    reader->has_event = 1;
    return 0;
}

/* One document's events after DOCUMENT-START, up to DOCUMENT-END; appends (value, Positions). */
static int read_document(Reader *reader, PyObject *documents) {
    reader->tree = PyMem_Calloc(1, sizeof(Tree));
    if (reader->tree == NULL) {
        PyErr_NoMemory();
        return -1;
    }
    reader->tree->refs = 1;
    for (;;) {
        if (next_event(reader) < 0)
            return -1;
        int status = 0;
        switch (reader->event.type) {
        case YAML_SCALAR_EVENT:
            status = on_scalar(reader);
            break;
        case YAML_SEQUENCE_START_EVENT:
            status = on_collection_start(reader, 0);
            break;
        case YAML_MAPPING_START_EVENT:
            status = on_collection_start(reader, 1);
            break;
        case YAML_SEQUENCE_END_EVENT:
        case YAML_MAPPING_END_EVENT:
            status = on_collection_end(reader);
            break;
        case YAML_DOCUMENT_END_EVENT: {
            if (reader->root == NULL || reader->depth != 0)
                return fallback();
            PyObject *positions = positions_new(reader->tree, 0);
            if (positions == NULL)
                return -1;
            PyObject *pair = PyTuple_Pack(2, reader->root, positions);
            Py_DECREF(positions);
            if (pair == NULL || PyList_Append(documents, pair) < 0) {
                Py_XDECREF(pair);
                return -1;
            }
            Py_DECREF(pair);
            Py_CLEAR(reader->root);
            tree_release(reader->tree);
            reader->tree = NULL;
            return 0;
        }
        default: /* aliases, and anything else PyYAML's composer has words for */
            return fallback();
        }
        if (status < 0)
            return -1;
    }
}

static PyObject *load(PyObject *module, PyObject *text) {
    if (!PyUnicode_Check(text)) {
        PyErr_SetString(PyExc_TypeError, "load() takes the text as a str");
        return NULL;
    }
    if (plain_resolver == NULL) {
        PyErr_SetString(PyExc_RuntimeError, "configure() was not called");
        return NULL;
    }
    Py_ssize_t size;
    const char *utf8 = PyUnicode_AsUTF8AndSize(text, &size);
    if (utf8 == NULL) { /* lone surrogates: PyYAML's reader has the words */
        PyErr_Clear();
        PyErr_SetNone(Fallback);
        return NULL;
    }
    PyObject *documents = PyList_New(0);
    Reader *reader = PyMem_Calloc(1, sizeof(Reader));
    if (documents == NULL || reader == NULL) {
        Py_XDECREF(documents);
        PyMem_Free(reader);
        return PyErr_NoMemory();
    }
    int failed = !yaml_parser_initialize(&reader->parser);
    if (failed) {
        PyErr_NoMemory();
    } else {
        yaml_parser_set_input_string(&reader->parser, (const unsigned char *)utf8, (size_t)size);
        while (!failed) {
            if (next_event(reader) < 0) {
                failed = 1;
            } else if (reader->event.type == YAML_DOCUMENT_START_EVENT) {
                failed = read_document(reader, documents) < 0;
            } else if (reader->event.type == YAML_STREAM_END_EVENT) {
                break;
            } else if (reader->event.type != YAML_STREAM_START_EVENT) {
                failed = fallback() < 0;
            }
        }
        reader_clear_document(reader);
        if (reader->has_event)
            yaml_event_delete(&reader->event);
        yaml_parser_delete(&reader->parser);
    }
    PyMem_Free(reader->pending);
    PyMem_Free(reader);
    if (failed) {
        Py_DECREF(documents);
        return NULL;
    }
    return documents;
}

/* configure(longest, cache, resolver): how plain scalars are typed (kgen.loader).  ``longest`` maps
 * each first character of a plain scalar that may not be a string to the longest text that can
 * be something else (-1: any length). */
static PyObject *configure(PyObject *module, PyObject *args) {
    PyObject *bounds, *cache, *resolver;
    if (!PyArg_ParseTuple(args, "O!O!O:configure", &PyDict_Type, &bounds, &PyDict_Type, &cache, &resolver))
        return NULL;
    if (!PyCallable_Check(resolver)) {
        PyErr_SetString(PyExc_TypeError, "the resolver must be callable");
        return NULL;
    }
    char first_set[256] = {0};
    Py_ssize_t first_longest[256];
    PyObject *key, *value;
    Py_ssize_t position = 0;
    while (PyDict_Next(bounds, &position, &key, &value)) {
        if (!PyUnicode_Check(key) || PyUnicode_GET_LENGTH(key) != 1 || PyUnicode_READ_CHAR(key, 0) >= 0x80 || !PyLong_Check(value)) {
            PyErr_SetString(PyExc_ValueError, "longest maps ASCII characters to lengths");
            return NULL;
        }
        Py_ssize_t length = PyLong_AsSsize_t(value);
        if (length == -1 && PyErr_Occurred())
            return NULL;
        unsigned char c = (unsigned char)PyUnicode_READ_CHAR(key, 0);
        first_set[c] = 1;
        first_longest[c] = length < 0 ? -1 : length;
    }
    for (int c = 0; c < 256; c++) {
        needs_resolving[c] = first_set[c];
        longest[c] = first_set[c] ? first_longest[c] : -1;
    }
    Py_INCREF(cache);
    Py_XSETREF(plain_cache, cache);
    Py_INCREF(resolver);
    Py_XSETREF(plain_resolver, resolver);
    Py_RETURN_NONE;
}

static PyMethodDef module_methods[] = {
    {"load", (PyCFunction)load, METH_O, "Every document of a text as [(value, Positions)]; raises Fallback where PyYAML must read it."},
    {"configure", (PyCFunction)configure, METH_VARARGS, "configure(longest, cache, resolver): how plain scalars are typed."},
    {NULL},
};

static struct PyModuleDef module_def = {
    PyModuleDef_HEAD_INIT, "_kgen_yaml", "kgen's fast YAML reader (libyaml events to values and positions).", -1, module_methods,
};

PyMODINIT_FUNC PyInit__kgen_yaml(void) {
    if (PyType_Ready(&PositionsType) < 0)
        return NULL;
    PyObject *module = PyModule_Create(&module_def);
    if (module == NULL)
        return NULL;
    Fallback = PyErr_NewExceptionWithDoc("_kgen_yaml.Fallback", "The text holds something only PyYAML's reader is trusted with.", NULL, NULL);
    if (Fallback == NULL || PyModule_AddObjectRef(module, "Fallback", Fallback) < 0 ||
        PyModule_AddObjectRef(module, "Positions", (PyObject *)&PositionsType) < 0 ||
        PyModule_AddIntConstant(module, "ABI", ABI_VERSION) < 0) {
        Py_DECREF(module);
        return NULL;
    }
    return module;
}
