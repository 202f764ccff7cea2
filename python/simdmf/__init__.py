"""ctypes bindings for simdmf, a matrix-factorization recommender library with a stable C ABI.

Nothing here is compiled: the module loads the shared library ``libsimdmf.so`` and calls its C
functions (include/simdmf/simdmf.h). The library is looked up in this order:

1. the environment variable ``SIMDMF_LIBRARY`` (a path to the .so file);
2. next to this package (``simdmf/libsimdmf.so*``);
3. the build folders of a source checkout (``<repo>/build*/capi/libsimdmf.so``);
4. the system search path (``ctypes.util.find_library("simdmf")``).

Every failing call raises :class:`SimdmfError` with the C status and the library's message.

Example::

    import numpy as np, simdmf
    data = simdmf.Dataset.from_dense(np.array([[5, 0, 1], [4, 0, 0], [0, 2, 5]], dtype=np.float32))
    model = simdmf.Trainer(k=2, epochs=200).fit(data)
    print(model.predict_all())
"""

import collections
import ctypes
import ctypes.util
import glob
import operator
import os
import tempfile
import threading
import warnings as _warnings

import numpy as np

__all__ = [
    "SimdmfError", "Dataset", "Trainer", "Model", "EpochInfo", "version", "simd_level",
    "set_simd_level", "load_library", "Option", "options", "Report",
]

# --------------------------------------------------------------------------------------------------
# Constants (stable values from simdmf.h)
# --------------------------------------------------------------------------------------------------

OK = 0
ERR_INVALID_ARGUMENT = 1
ERR_UNKNOWN_OPTION = 2
ERR_OUT_OF_RANGE = 3
ERR_INVALID_DATA = 4
ERR_OUT_OF_MEMORY = 5
ERR_IO = 6
ERR_FORMAT = 7
ERR_VERSION = 8
ERR_CHECKSUM = 9
CANCELLED = 10
ERR_DIVERGED = 11
ERR_UNSUPPORTED = 12
ERR_NOT_FOUND = 13
ERR_INTERNAL = 14

USERS = 0
ITEMS = 1

# Flag of Dataset.align / Model.evaluate / Model.predict_dataset (leave_out_cold=True)
COLD_LEAVE_OUT = 1

MODEL_MF = 1
MODEL_LOGISTIC = 2

OPEN_MMAP = 1       # simdmf_model_open flags
OPEN_NO_VERIFY = 2

FORMATS = {
    "auto": 0,
    "movielens_data": 1,
    "movielens_dat": 2,
    "movielens_csv": 3,
    "libmf": 4,
    "binary": 5,
}

SIMD_LEVELS = {"scalar": 0, "sse2": 1, "sse4.2": 2, "avx2": 3, "avx512": 4, "neon": 5}


class SimdmfError(RuntimeError):
    """A failed simdmf call: ``status`` is the C status number, ``message`` the library's detail."""

    def __init__(self, status, message="", model=None, report=None):
        self.status = int(status)
        self.message = message
        self.model = model  # with ERR_DIVERGED from Trainer.fit: the last good epoch's Model
        self.report = report  # with ERR_DIVERGED from Trainer.tune: the report of the runs (a dict)
        name = _status_name(self.status)
        super().__init__("%s: %s" % (name, message) if message else name)


# --------------------------------------------------------------------------------------------------
# Loading the library and declaring the functions
# --------------------------------------------------------------------------------------------------

_u32 = ctypes.c_uint32
_u32p = ctypes.POINTER(ctypes.c_uint32)
_i64 = ctypes.c_int64
_f32p = ctypes.POINTER(ctypes.c_float)
_f64p = ctypes.POINTER(ctypes.c_double)
_size = ctypes.c_size_t
_sizep = ctypes.POINTER(ctypes.c_size_t)
_int = ctypes.c_int
_intp = ctypes.POINTER(ctypes.c_int)
_vp = ctypes.c_void_p
_vpp = ctypes.POINTER(ctypes.c_void_p)
_cstr = ctypes.c_char_p
_status = ctypes.c_int


class _EpochInfoC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("epoch", ctypes.c_uint32),
        ("max_epochs", ctypes.c_uint32),
        ("train_loss", ctypes.c_double),
        ("valid_metric", ctypes.c_double),
        ("learning_rate", ctypes.c_double),
        ("elapsed_seconds", ctypes.c_double),
    ]


class _FactorTablesC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("k", ctypes.c_uint32),
        ("n_users", ctypes.c_uint32),
        ("n_items", ctypes.c_uint32),
        ("user_factors", ctypes.c_void_p),
        ("user_stride", ctypes.c_size_t),
        ("item_factors", ctypes.c_void_p),
        ("item_stride", ctypes.c_size_t),
        ("user_bias", ctypes.c_void_p),
        ("item_bias", ctypes.c_void_p),
        ("global_bias", ctypes.c_float),
        ("kind", ctypes.c_int),
        ("min_prediction", ctypes.c_float),
        ("max_prediction", ctypes.c_float),
        ("user_ids", ctypes.c_void_p),
        ("item_ids", ctypes.c_void_p),
    ]


# Formats of Model.import_factors / export_factors (simdmf_factor_format).
_FACTOR_FORMATS = {"spark-json": 1, "json": 1, "csv": 2, "npy": 3, "npz": 4, "libmf": 5}

class _OptionInfoC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("name", ctypes.c_char_p),
        ("group", ctypes.c_char_p),
        ("doc", ctypes.c_char_p),
        ("type", ctypes.c_int),
        ("element_type", ctypes.c_int),
        ("lower", ctypes.c_double),
        ("upper", ctypes.c_double),
        ("lower_open", ctypes.c_int),
        ("upper_open", ctypes.c_int),
        ("default_value", ctypes.c_double),
        ("default_string", ctypes.c_char_p),
        ("default_count", ctypes.c_size_t),
        ("default_text", ctypes.c_char_p),
        ("has_conditional_default", ctypes.c_int),
        ("allowed_count", ctypes.c_size_t),
    ]


class _FilterC(ctypes.Structure):
    _fields_ = [
        ("struct_size", ctypes.c_size_t),
        ("exclude", ctypes.c_void_p),
        ("seen_offsets", ctypes.POINTER(ctypes.c_uint64)),
        ("seen_items", ctypes.POINTER(ctypes.c_uint32)),
        ("seen_users", ctypes.c_uint32),
        ("allow", ctypes.POINTER(ctypes.c_uint32)),
        ("n_allow", ctypes.c_size_t),
        ("deny", ctypes.POINTER(ctypes.c_uint32)),
        ("n_deny", ctypes.c_size_t),
    ]


_PROGRESS_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(_EpochInfoC), ctypes.c_void_p)

# name: (restype, [argtypes])
_SIGNATURES = {
    "simdmf_version_number": (ctypes.c_uint, []),
    "simdmf_version_string": (_cstr, []),
    "simdmf_status_string": (_cstr, [_int]),
    "simdmf_last_error": (_cstr, []),
    "simdmf_simd_level": (_status, [_intp, ctypes.POINTER(_cstr)]),
    "simdmf_set_simd_level": (_status, [_int]),
    "simdmf_dataset_from_triples": (_status, [_u32p, _u32p, _f32p, _size, _u32, _u32, _vpp]),
    "simdmf_dataset_from_dense": (_status, [_f32p, _size, _size, _vpp]),
    "simdmf_dataset_load": (_status, [_cstr, _int, _vpp]),
    "simdmf_dataset_shape": (_status, [_vp, _sizep, _u32p, _u32p]),
    "simdmf_dataset_get": (_status, [_vp, _size, _size, _u32p, _u32p, _f32p]),
    "simdmf_dataset_split": (_status, [_vp, ctypes.c_double, ctypes.c_uint64, _vpp, _vpp]),
    "simdmf_dataset_free": (None, [_vp]),
    "simdmf_trainer_create": (_status, [_vpp]),
    "simdmf_trainer_free": (None, [_vp]),
    "simdmf_trainer_set": (_status, [_vp, _cstr, ctypes.c_double]),
    "simdmf_trainer_set_string": (_status, [_vp, _cstr, _cstr]),
    "simdmf_trainer_set_array": (_status, [_vp, _cstr, _f64p, _size]),
    "simdmf_trainer_get": (_status, [_vp, _cstr, _f64p]),
    "simdmf_trainer_get_string": (_status, [_vp, _cstr, ctypes.POINTER(_cstr)]),
    "simdmf_trainer_set_callback": (_status, [_vp, _PROGRESS_FN, _vp]),
    "simdmf_trainer_fit": (_status, [_vp, _vp, _vp, _vpp]),
    "simdmf_trainer_history_size": (_status, [_vp, _sizep]),
    "simdmf_trainer_history_get": (_status, [_vp, _size, ctypes.POINTER(_EpochInfoC)]),
    "simdmf_model_free": (None, [_vp]),
    "simdmf_model_shape": (_status, [_vp, _intp, _u32p, _u32p, _u32p, _intp]),
    "simdmf_model_name": (_status, [_vp, ctypes.POINTER(ctypes.c_char_p)]),
    "simdmf_model_prediction_range": (_status, [_vp, _f32p, _f32p]),
    "simdmf_model_set_prediction_range": (_status, [_vp, ctypes.c_float, ctypes.c_float]),
    "simdmf_model_quantize": (_status, [_vp, _int, _int]),
    "simdmf_model_table": (_status, [_vp, _intp, _intp]),
    "simdmf_model_set_rerank": (_status, [_vp, _u32]),
    "simdmf_model_predict": (_status, [_vp, _u32, _u32, _f32p]),
    "simdmf_model_predict_batch": (_status, [_vp, _u32p, _u32p, _size, _f32p]),
    "simdmf_model_predict_row": (_status, [_vp, _u32, _f32p]),
    "simdmf_model_predict_all": (_status, [_vp, _f32p]),
    "simdmf_model_recommend": (_status, [_vp, _u32, _size, _vp, _u32p, _f32p, _sizep]),
    "simdmf_model_similarity": (_status, [_vp, _int, _u32, _u32, _f32p]),
    "simdmf_model_nearest": (_status, [_vp, _int, _u32, _size, _u32p, _f32p, _sizep]),
    "simdmf_model_factors": (_status, [_vp, _int, _u32, _f32p, _f32p]),
    "simdmf_model_index": (_status, [_vp, _int, _i64, _u32p]),
    "simdmf_model_raw_id": (_status, [_vp, _int, _u32, ctypes.POINTER(_i64)]),
    "simdmf_dataset_id_kind": (_status, [_vp, _int, _intp]),
    "simdmf_model_id_kind": (_status, [_vp, _int, _intp]),
    "simdmf_dataset_index_text": (_status, [_vp, _int, _cstr, _u32p]),
    "simdmf_model_index_text": (_status, [_vp, _int, _cstr, _u32p]),
    "simdmf_dataset_id_text": (_status, [_vp, _int, _u32, ctypes.c_char_p, _size, _sizep]),
    "simdmf_model_id_text": (_status, [_vp, _int, _u32, ctypes.c_char_p, _size, _sizep]),
    "simdmf_dataset_from_text_triples": (_status, [ctypes.POINTER(ctypes.c_char_p), ctypes.POINTER(ctypes.c_char_p),
                                                   _f32p, _size, _vpp]),
    "simdmf_dataset_warning_count": (_status, [_vp, _sizep]),
    "simdmf_trainer_warning_count": (_status, [_vp, _sizep]),
    "simdmf_trainer_warning": (_status, [_vp, _size, ctypes.POINTER(ctypes.c_char_p)]),
    "simdmf_dataset_warning": (_status, [_vp, _size, ctypes.POINTER(ctypes.c_char_p)]),
    "simdmf_trainer_fit_take": (_status, [_vp, _vp, _vp, _vpp]),
    "simdmf_trainer_fit_from": (_status, [_vp, _vp, _vp, _vp, _vpp]),
    "simdmf_model_neumf_from": (_status, [_vp, _vp, ctypes.c_double, _vpp]),
    "simdmf_model_fold_in_user": (_status, [_vp, _u32p, _f32p, _size, ctypes.c_double, _i64, _u32p]),
    "simdmf_model_save": (_status, [_vp, _cstr]),
    "simdmf_model_load": (_status, [_cstr, _vpp]),
    "simdmf_model_open": (_status, [_cstr, _u32, _vpp]),
    "simdmf_report_free": (None, [_vp]),
    "simdmf_report_size": (_status, [_vp, _sizep]),
    "simdmf_report_get": (_status, [_vp, _size, ctypes.POINTER(_cstr), _f64p]),
    "simdmf_report_find": (_status, [_vp, _cstr, _f64p]),
    "simdmf_model_evaluate": (_status, [_vp, _vp, _vp, _size, ctypes.c_double, _vpp]),
    "simdmf_model_evaluate_ex": (_status, [_vp, _vp, _vp, _size, ctypes.c_double, ctypes.c_uint, _vpp]),
    "simdmf_model_evaluate_ranking": (_status, [_vp, _vp, _vp, _size, ctypes.c_double, _size, ctypes.c_uint64,
                                                ctypes.c_uint, _vpp]),
    "simdmf_report_note_count": (_status, [_vp, _sizep]),
    "simdmf_report_note": (_status, [_vp, _size, ctypes.POINTER(_cstr)]),
    "simdmf_dataset_split_by": (_status, [_vp, ctypes.c_uint, ctypes.c_double, ctypes.c_uint64, _vpp, _vpp]),
    "simdmf_dataset_align": (_status, [_vp, _vp, _vp, ctypes.c_uint, _vpp, ctypes.POINTER(_size)]),
    "simdmf_model_predict_dataset": (_status, [_vp, _vp, ctypes.c_uint, ctypes.POINTER(ctypes.c_float),
                                               ctypes.POINTER(_size)]),
    "simdmf_trainer_cross_validate": (_status, [_vp, _vp, ctypes.c_uint, ctypes.c_uint64, _size, ctypes.c_double,
                                                _vpp]),
    "simdmf_trainer_tune": (_status, [_vp, _vp, _vpp]),
    "simdmf_trainer_get_array": (_status, [_vp, _cstr, _f64p, _size, _sizep]),
    "simdmf_model_from_factors": (_status, [ctypes.POINTER(_FactorTablesC), _int, _vpp]),
    "simdmf_model_import": (_status, [_int, _cstr, _cstr, _vpp]),
    "simdmf_model_import_flags": (_status, [_int, _cstr, _cstr, _int, _vpp]),
    "simdmf_model_export": (_status, [_vp, _int, _cstr]),
    "simdmf_model_factor_table": (_status, [_vp, _int, ctypes.POINTER(_f32p), _sizep, _u32p, _u32p]),
    "simdmf_model_bias_table": (_status, [_vp, _int, ctypes.POINTER(_f32p), _sizep, _f32p]),
    "simdmf_option_count": (_status, [_sizep]),
    "simdmf_option_info_get": (_status, [_size, ctypes.POINTER(_OptionInfoC)]),
    "simdmf_option_find": (_status, [_cstr, _sizep]),
    "simdmf_option_allowed": (_status, [_size, _size, ctypes.POINTER(_cstr)]),
    "simdmf_option_default_array": (_status, [_size, _f64p, _size, _sizep]),
    "simdmf_trainer_default": (_status, [_vp, _cstr, _f64p]),
    "simdmf_trainer_default_string": (_status, [_vp, _cstr, ctypes.POINTER(_cstr)]),
    "simdmf_trainer_default_array": (_status, [_vp, _cstr, _f64p, _size, _sizep]),
    "simdmf_scratch_create": (_status, [_vpp]),
    "simdmf_scratch_free": (None, [_vp]),
    "simdmf_model_recommend_filtered": (_status, [_vp, _u32, _size, ctypes.POINTER(_FilterC), _u32p, _f32p, _sizep]),
    "simdmf_model_recommend_batch": (_status, [_vp, _u32p, _size, _size, ctypes.POINTER(_FilterC), _vp, _u32p, _f32p,
                                               _sizep]),
    "simdmf_model_nearest_batch": (_status, [_vp, _int, _int, _u32p, _size, _size, _vp, _u32p, _f32p, _sizep]),
}

_lib = None


def _candidates():
    env = os.environ.get("SIMDMF_LIBRARY")
    if env:
        yield env
        return
    here = os.path.dirname(os.path.abspath(__file__))
    for name in sorted(glob.glob(os.path.join(here, "libsimdmf.so*"))):
        yield name
    repo = os.path.dirname(os.path.dirname(here))
    for name in sorted(glob.glob(os.path.join(repo, "build*", "capi", "libsimdmf.so"))):
        yield name
    found = ctypes.util.find_library("simdmf")
    if found:
        yield found
    # meson install's default prefix, when ldconfig has not been run since
    for name in sorted(glob.glob("/usr/local/lib*/**/libsimdmf.so*", recursive=True)):
        yield name


def load_library(path=None):
    """Loads (once) and returns the ctypes handle of libsimdmf. ``path`` overrides the search."""
    global _lib
    if _lib is not None and path is None:
        return _lib
    tried = []
    for cand in ([path] if path else _candidates()):
        try:
            lib = ctypes.CDLL(cand)
        except OSError as e:
            tried.append("%s (%s)" % (cand, e))
            continue
        for name, (restype, argtypes) in _SIGNATURES.items():
            fn = getattr(lib, name)
            fn.restype = restype
            fn.argtypes = argtypes
        _lib = lib
        return lib
    raise OSError("libsimdmf not found; set SIMDMF_LIBRARY to the path of libsimdmf.so"
                  + ("; tried: " + ", ".join(tried) if tried else ""))


def _L():
    return _lib if _lib is not None else load_library()


def _status_name(status):
    try:
        return _L().simdmf_status_string(int(status)).decode()
    except OSError:
        return "status %d" % status


def _check(status):
    if status != OK:
        raise SimdmfError(status, _L().simdmf_last_error().decode("utf-8", "replace"))
    return status


def _side(side):
    if isinstance(side, str):
        s = side.lower()
        if s in ("user", "users"):
            return USERS
        if s in ("item", "items"):
            return ITEMS
        raise SimdmfError(ERR_INVALID_ARGUMENT, "side must be 'users' or 'items', not %r" % side)
    return int(side)


def _path(path):
    b = os.fsencode(os.fspath(path))
    if b"\0" in b:  # C would see only the part before the NUL, a different file
        raise ValueError("path contains a NUL character: %r" % (path,))
    return b


def _index(value, name, lo=0, hi=0xFFFFFFFF):
    """An integer argument for a fixed-width C parameter, range-checked (ctypes would wrap it silently):
    by default a user or item index, in [0, 2^32)."""
    try:
        v = operator.index(value)
    except TypeError:
        raise TypeError("%s must be an integer index, not %s" % (name, type(value).__name__)) from None
    if not lo <= v <= hi:
        raise OverflowError("%s %d is outside [%d, %d]" % (name, v, lo, hi))
    return v


_I64 = (-(1 << 63), (1 << 63) - 1)

# What a side's raw ids are (simdmf_id_kind).
IDS_INDICES, IDS_INTEGER, IDS_STRING = 0, 1, 2


def _id_bytes(value, name):
    """A raw id as the C calls take it: str (UTF-8) or int, as NUL-free bytes."""
    if isinstance(value, bytes):
        b = value
    elif isinstance(value, str):
        b = value.encode("utf-8")
    else:
        try:
            b = str(operator.index(value)).encode()
        except TypeError:
            raise TypeError("%s must be a str or an int id, not %s" % (name, type(value).__name__)) from None
    if b"\0" in b:  # C would see only the part before the NUL, another id
        raise ValueError("%s contains a NUL character: %r" % (name, value))
    return b


def _lookup_text(call, handle, side, raw_id):
    out = ctypes.c_uint32()
    _check(call(handle, _side(side), _id_bytes(raw_id, "raw_id"), ctypes.byref(out)))
    return out.value


def _id_of(kind_call, text_call, handle, side, index):
    """The raw id of index: an int for integer ids and indices, a str for string ids."""
    kind = ctypes.c_int()
    _check(kind_call(handle, _side(side), ctypes.byref(kind)))
    n = ctypes.c_size_t()
    buf = ctypes.create_string_buffer(260)
    _check(text_call(handle, _side(side), _index(index, "index"), buf, len(buf), ctypes.byref(n)))
    text = buf.value.decode("utf-8", "replace")
    return text if kind.value == IDS_STRING else int(text)


def _as_dataset(value):
    """A Dataset as it is; a scipy.sparse users x items matrix as Dataset.from_sparse reads it."""
    if not isinstance(value, Dataset) and hasattr(value, "tocoo"):
        return Dataset.from_sparse(value)
    return value


def _dataset(value, name):
    """The handle of a Dataset argument (TypeError for anything else, e.g. None)."""
    if not isinstance(value, Dataset):
        raise TypeError("%s must be a simdmf.Dataset, not %s" % (name, type(value).__name__))
    return value._handle


def _ptr(array, ctype):
    return array.ctypes.data_as(ctypes.POINTER(ctype))


def _index_array(values, name):
    a = np.asarray(values)
    if a.ndim != 1:
        a = a.reshape(-1)
    if a.size and a.dtype.kind not in "ui":
        if a.dtype.kind == "f" and np.all(np.isfinite(a)) and np.all(a == np.floor(a)):
            pass
        else:
            raise SimdmfError(ERR_INVALID_ARGUMENT, "%s must hold integer indices" % name)
    if a.size and (a.min() < 0 or a.max() > 0xFFFFFFFF):
        raise SimdmfError(ERR_OUT_OF_RANGE, "%s holds an index outside [0, 2^32)" % name)
    return np.ascontiguousarray(a, dtype=np.uint32)


# --------------------------------------------------------------------------------------------------
# Module functions
# --------------------------------------------------------------------------------------------------

def version():
    """The linked library's version string, e.g. ``"0.2.0"``."""
    return _L().simdmf_version_string().decode()


def simd_level():
    """``(level, name)`` of the SIMD kernels in use."""
    level = ctypes.c_int()
    name = ctypes.c_char_p()
    _check(_L().simdmf_simd_level(ctypes.byref(level), ctypes.byref(name)))
    return level.value, name.value.decode()


def set_simd_level(level):
    """Forces a SIMD level (a number or a name such as ``"scalar"``); call it at start-up."""
    if isinstance(level, str):
        if level.lower() not in SIMD_LEVELS:
            raise SimdmfError(ERR_UNSUPPORTED, "unknown SIMD level %r" % level)
        level = SIMD_LEVELS[level.lower()]
    _check(_L().simdmf_set_simd_level(int(level)))


class Report(dict):
    """A report's entries (name -> value, in the report's order) and ``notes``: one sentence per entry
    that is undefined (NaN), saying why (e.g. AUC on a test set of one class)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.notes = []


def _report(handle):
    """The entries of a C simdmf_report as a dict in the report's order; frees the report."""
    if not handle:
        return None
    lib = _L()
    h = ctypes.c_void_p(handle)
    try:
        n = ctypes.c_size_t()
        _check(lib.simdmf_report_size(h, ctypes.byref(n)))
        out = Report()
        name = ctypes.c_char_p()
        value = ctypes.c_double()
        for j in range(n.value):
            _check(lib.simdmf_report_get(h, j, ctypes.byref(name), ctypes.byref(value)))
            out[name.value.decode()] = value.value
        _check(lib.simdmf_report_note_count(h, ctypes.byref(n)))
        text = ctypes.c_char_p()
        for j in range(n.value):
            _check(lib.simdmf_report_note(h, j, ctypes.byref(text)))
            out.notes.append(text.value.decode())
        return out
    finally:
        lib.simdmf_report_free(h)


EpochInfo = collections.namedtuple(
    "EpochInfo", ["epoch", "max_epochs", "train_loss", "valid_metric", "learning_rate", "elapsed_seconds"])
EpochInfo.__doc__ = "One epoch of training (valid_metric is NaN without validation data)."


def _epoch(c):
    return EpochInfo(c.epoch, c.max_epochs, c.train_loss, c.valid_metric, c.learning_rate, c.elapsed_seconds)


class _Handle:
    """Owns one C handle and frees it with ``_free`` (a name in the library)."""

    _free = None

    def __init__(self, handle):
        self._h = ctypes.c_void_p(handle)
        self._lib = _L()

    def close(self):
        """Frees the C object now (the Python object becomes unusable)."""
        if self._h is not None and self._h.value:
            getattr(self._lib, self._free)(self._h)
        self._h = None

    def __del__(self):
        try:
            self.close()
        except Exception:  # interpreter shutdown
            pass

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @property
    def _handle(self):
        if self._h is None or not self._h.value:
            raise SimdmfError(ERR_INVALID_ARGUMENT, "%s is closed" % type(self).__name__)
        return self._h


# --------------------------------------------------------------------------------------------------
# Dataset
# --------------------------------------------------------------------------------------------------

class Dataset(_Handle):
    """Observed (user, item, value) entries of a users x items matrix."""

    _free = "simdmf_dataset_free"

    @classmethod
    def from_triples(cls, users, items, values, n_users=0, n_items=0):
        """From parallel arrays; ``n_users``/``n_items`` of 0 mean one past the largest index."""
        u = _index_array(users, "users")
        i = _index_array(items, "items")
        v = np.ascontiguousarray(np.asarray(values).reshape(-1), dtype=np.float32)
        if not (len(u) == len(i) == len(v)):
            raise SimdmfError(ERR_INVALID_ARGUMENT,
                              "users, items and values differ in length (%d, %d, %d)" % (len(u), len(i), len(v)))
        out = ctypes.c_void_p()
        _check(_L().simdmf_dataset_from_triples(_ptr(u, ctypes.c_uint32), _ptr(i, ctypes.c_uint32),
                                                 _ptr(v, ctypes.c_float), len(v), int(n_users), int(n_items),
                                                 ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def from_sparse(cls, matrix):
        """From a scipy.sparse users x items matrix (any format with ``tocoo()``), as ``implicit``
        takes it: each stored non-zero is one rating or count (explicit zeros are dropped, duplicate
        entries summed); the matrix's shape gives the users and items."""
        if not hasattr(matrix, "tocoo"):
            raise TypeError("matrix must be a scipy.sparse matrix, not %s" % type(matrix).__name__)
        coo = matrix.tocoo(copy=True)
        coo.sum_duplicates()
        coo.eliminate_zeros()
        rows, cols = coo.shape
        return cls.from_triples(coo.row, coo.col, coo.data, n_users=rows, n_items=cols)

    @classmethod
    def from_ids(cls, users, items, values):
        """From parallel sequences of raw ids (str or int; e.g. ``"USER_894"``, hash ids, or MovieLens'
        integers) and values: indices in order of first appearance, each side's ids integer when every
        id is an integer, else strings. A repeated (user, item) pair or an invalid id (empty, blanks,
        control bytes, over 256 bytes) raises SimdmfError ERR_INVALID_DATA naming it."""
        u = [_id_bytes(x, "user id") for x in users]
        i = [_id_bytes(x, "item id") for x in items]
        v = np.ascontiguousarray(np.asarray(values, dtype=np.float32).reshape(-1))
        if not (len(u) == len(i) == len(v)):
            raise SimdmfError(ERR_INVALID_ARGUMENT,
                              "users, items and values differ in length (%d, %d, %d)" % (len(u), len(i), len(v)))
        ua = (ctypes.c_char_p * max(len(u), 1))(*u)
        ia = (ctypes.c_char_p * max(len(i), 1))(*i)
        out = ctypes.c_void_p()
        _check(_L().simdmf_dataset_from_text_triples(ua, ia, _ptr(v, ctypes.c_float), len(v), ctypes.byref(out)))
        return cls(out.value)

    def index(self, raw_id, side="users"):
        """Dense index of a raw id (str or int; SimdmfError ERR_NOT_FOUND when unknown)."""
        return _lookup_text(self._lib.simdmf_dataset_index_text, self._handle, side, raw_id)

    def raw_id(self, index, side="users"):
        """Raw id of a dense index: a str for string ids, else an int."""
        return _id_of(self._lib.simdmf_dataset_id_kind, self._lib.simdmf_dataset_id_text, self._handle, side, index)

    def id_kind(self, side="users"):
        """``"indices"`` (no id map), ``"integer"`` or ``"string"``."""
        k = ctypes.c_int()
        _check(self._lib.simdmf_dataset_id_kind(self._handle, _side(side), ctypes.byref(k)))
        return ("indices", "integer", "string")[k.value]

    @property
    def warnings(self):
        """What :meth:`load` warned about (ignored fields, values that look like counts, ...), as strings."""
        n = ctypes.c_size_t()
        _check(self._lib.simdmf_dataset_warning_count(self._handle, ctypes.byref(n)))
        out = []
        for j in range(n.value):
            t = ctypes.c_char_p()
            _check(self._lib.simdmf_dataset_warning(self._handle, j, ctypes.byref(t)))
            out.append(t.value.decode("utf-8", "replace"))
        return out

    @classmethod
    def from_dense(cls, matrix):
        """From a 2-D array (rows are users); 0 and NaN mark missing entries."""
        m = np.ascontiguousarray(np.asarray(matrix, dtype=np.float32))
        if m.ndim != 2:
            raise SimdmfError(ERR_INVALID_ARGUMENT, "dense matrix must be 2-D, got %d-D" % m.ndim)
        out = ctypes.c_void_p()
        _check(_L().simdmf_dataset_from_dense(_ptr(m, ctypes.c_float), m.shape[0], m.shape[1], ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def load(cls, path, format="auto", like=None, leave_out_cold=False):
        """Reads a ratings file; ``format`` is a name of :data:`FORMATS` or its number. A file loaded on
        its own has ids of its own (its id space); with ``like`` (a Model or a Dataset) it is re-indexed
        into that one's id space as :meth:`align` does, so it can be evaluated against the model."""
        if isinstance(format, str):
            if format not in FORMATS:
                raise SimdmfError(ERR_INVALID_ARGUMENT, "unknown format %r (one of %s)" % (format, sorted(FORMATS)))
            format = FORMATS[format]
        out = ctypes.c_void_p()
        _check(_L().simdmf_dataset_load(_path(path), int(format), ctypes.byref(out)))
        ds = cls(out.value)
        return ds if like is None else ds.align(like, leave_out_cold=leave_out_cold)

    def align(self, like, leave_out_cold=False):
        """A copy of this data set in the id space of ``like`` (a Model or a Dataset): ids it knows take
        its indices; ids it does not know get indices after its own (cold: a model scores them with its
        fallback), or with ``leave_out_cold`` their ratings are left out. The number of ratings naming an
        unknown id is the result's ``unknown`` attribute."""
        out = ctypes.c_void_p()
        n = ctypes.c_size_t()
        model = like._handle if isinstance(like, Model) else None
        ref = like._handle if isinstance(like, Dataset) else None
        if model is None and ref is None:
            raise TypeError("like must be a simdmf.Model or a simdmf.Dataset, not %s" % type(like).__name__)
        _check(self._lib.simdmf_dataset_align(self._handle, model, ref, COLD_LEAVE_OUT if leave_out_cold else 0,
                                              ctypes.byref(out), ctypes.byref(n)))
        ds = Dataset(out.value)
        ds.unknown = n.value
        return ds

    def _shape(self):
        n = ctypes.c_size_t()
        nu = ctypes.c_uint32()
        ni = ctypes.c_uint32()
        _check(self._lib.simdmf_dataset_shape(self._handle, ctypes.byref(n), ctypes.byref(nu), ctypes.byref(ni)))
        return n.value, nu.value, ni.value

    def __len__(self):
        """Number of ratings."""
        return self._shape()[0]

    @property
    def n_users(self):
        """Matrix rows."""
        return self._shape()[1]

    @property
    def n_items(self):
        """Matrix columns."""
        return self._shape()[2]

    @property
    def shape(self):
        """``(n_users, n_items)``."""
        return self._shape()[1:]

    def to_arrays(self, first=0, count=None):
        """``(users, items, values)`` numpy arrays of ratings ``[first, first + count)``."""
        if count is None:
            count = max(len(self) - first, 0)
        u = np.empty(count, dtype=np.uint32)
        i = np.empty(count, dtype=np.uint32)
        v = np.empty(count, dtype=np.float32)
        _check(self._lib.simdmf_dataset_get(self._handle, int(first), int(count), _ptr(u, ctypes.c_uint32),
                                            _ptr(i, ctypes.c_uint32), _ptr(v, ctypes.c_float)))
        return u, i, v

    _SPLIT_KINDS = {"random": 0, "per-user-fraction": 1, "leave-one-out": 2, "leave-one-out-random": 3}

    def split(self, test_fraction=0.2, seed=42, kind="random"):
        """``(train, test)`` split, reproducible from ``seed``. ``kind``: ``"random"`` (a random
        ``test_fraction`` of the ratings), ``"per-user-fraction"`` (round(c * test_fraction) of each user's
        c ratings, at least one kept in train), ``"leave-one-out"`` (each user's latest rating by timestamp,
        for users with two or more; needs timestamps, which ``Dataset.load`` keeps from MovieLens files) or
        ``"leave-one-out-random"`` (a seeded random one); ``test_fraction`` is ignored by the last two."""
        if kind not in self._SPLIT_KINDS:
            raise ValueError(f"kind must be one of {', '.join(self._SPLIT_KINDS)}, not {kind!r}")
        a = ctypes.c_void_p()
        b = ctypes.c_void_p()
        _check(self._lib.simdmf_dataset_split_by(self._handle, self._SPLIT_KINDS[kind], float(test_fraction), int(seed),
                                                 ctypes.byref(a), ctypes.byref(b)))
        return Dataset(a.value), Dataset(b.value)

    def __repr__(self):
        if self._h is None:
            return "<simdmf.Dataset closed>"
        n, nu, ni = self._shape()
        return "<simdmf.Dataset %d ratings, %d x %d>" % (n, nu, ni)


# --------------------------------------------------------------------------------------------------
# Option registry
# --------------------------------------------------------------------------------------------------

_OPTION_TYPES = {0: "integer", 1: "real", 2: "string", 3: "array"}


class Option:
    """One option of the library's registry (simdmf_option_info): ``name``, ``type`` ("integer",
    "real", "string" or "array"), ``element_type`` (arrays: "integer" or "real"), ``group``, ``doc``,
    ``lower`` / ``upper`` with ``lower_open`` / ``upper_open`` (numbers and array elements),
    ``allowed`` (strings), ``default`` (the static default: a float, str or list), ``default_text``
    (every default with its condition) and ``conditional_default``."""

    __slots__ = ("name", "type", "element_type", "group", "doc", "lower", "upper", "lower_open", "upper_open",
                 "allowed", "default", "default_text", "conditional_default")

    def __repr__(self):
        return "<simdmf.Option %s: %s, group %s, default %s>" % (self.name, self.type, self.group, self.default_text)

    def contains(self, value):
        """Whether a number lies within the bounds (for arrays: an element's bounds)."""
        v = float(value)
        lo = v > self.lower if self.lower_open else v >= self.lower
        hi = v < self.upper if self.upper_open else v <= self.upper
        return lo and hi


def _option_at(index):
    lib = _L()
    c = _OptionInfoC()
    c.struct_size = ctypes.sizeof(_OptionInfoC)
    _check(lib.simdmf_option_info_get(index, ctypes.byref(c)))
    o = Option()
    o.name = c.name.decode()
    o.type = _OPTION_TYPES.get(c.type, "unknown")
    o.element_type = _OPTION_TYPES.get(c.element_type, "unknown")
    o.group = c.group.decode()
    o.doc = c.doc.decode()
    o.lower, o.upper = c.lower, c.upper
    o.lower_open, o.upper_open = bool(c.lower_open), bool(c.upper_open)
    o.allowed = []
    for j in range(c.allowed_count):
        v = ctypes.c_char_p()
        _check(lib.simdmf_option_allowed(index, j, ctypes.byref(v)))
        o.allowed.append(v.value.decode())
    if o.type == "string":
        o.default = c.default_string.decode()
    elif o.type == "array":
        a = np.empty(c.default_count, dtype=np.float64)
        n = ctypes.c_size_t()
        _check(lib.simdmf_option_default_array(index, _ptr(a, ctypes.c_double), len(a), ctypes.byref(n)))
        o.default = a[:n.value].tolist()
    else:
        o.default = c.default_value
    o.default_text = c.default_text.decode()
    o.conditional_default = bool(c.has_conditional_default)
    return o


_registry = None


def options():
    """The library's option registry: a dict from key to :class:`Option`, in registry order
    (read once through simdmf_option_count / simdmf_option_info_get)."""
    global _registry
    if _registry is None:
        n = ctypes.c_size_t()
        _check(_L().simdmf_option_count(ctypes.byref(n)))
        _registry = {o.name: o for o in (_option_at(i) for i in range(n.value))}
    return _registry


def _option(key):
    o = options().get(key)
    if o is None:
        raise SimdmfError(ERR_UNKNOWN_OPTION, "unknown option '%s'" % key)
    return o


# --------------------------------------------------------------------------------------------------
# Trainer
# --------------------------------------------------------------------------------------------------

class Trainer(_Handle):
    """Training options (see simdmf.h for keys, bounds and defaults) and the last run's history.

    ``Trainer(k=16, epochs=50, loss="logistic", lr_list=[0.1, 0.05])``: numbers, strings and
    sequences of numbers are set with the matching C call.
    """

    _free = "simdmf_trainer_free"

    def __init__(self, **options):
        out = ctypes.c_void_p()
        _check(_L().simdmf_trainer_create(ctypes.byref(out)))
        super().__init__(out.value)
        self.cancelled = False  # whether the last fit was stopped by its callback
        self.set(**options)

    def set(self, **options):
        """Sets options by keyword; returns self. Each key's type comes from the registry
        (:func:`simdmf.options`): strings with the string call, sequences with the array call,
        numbers with the numeric call; an unknown key raises :class:`SimdmfError` (UNKNOWN_OPTION)."""
        for key, value in options.items():
            o = _option(key)
            k = key.encode()
            if o.type == "string":
                if not isinstance(value, str):
                    raise SimdmfError(ERR_UNKNOWN_OPTION, "option '%s' is a string option (%s), not %r"
                                      % (key, ", ".join(o.allowed), value))
                _check(self._lib.simdmf_trainer_set_string(self._handle, k, value.encode()))
            elif o.type == "array":
                a = np.ascontiguousarray(np.asarray(value, dtype=np.float64).reshape(-1))
                _check(self._lib.simdmf_trainer_set_array(self._handle, k, _ptr(a, ctypes.c_double), len(a)))
            else:
                if isinstance(value, str):
                    raise SimdmfError(ERR_UNKNOWN_OPTION, "option '%s' is a %s option, not %r" % (key, o.type, value))
                _check(self._lib.simdmf_trainer_set(self._handle, k, float(value)))
        return self

    def _get_array(self, call, k):
        n = ctypes.c_size_t()
        _check(call(self._handle, k, None, 0, ctypes.byref(n)))
        a = np.empty(n.value, dtype=np.float64)
        _check(call(self._handle, k, _ptr(a, ctypes.c_double), len(a), ctypes.byref(n)))
        return a[:n.value].tolist()

    def get(self, key):
        """Current value of an option: a float for integer and real keys, a str for string keys, a
        list of floats for array keys (``lr_list``, ``tune_k``, ...), as the registry types them."""
        o = _option(key)
        k = key.encode()
        if o.type == "string":
            s = ctypes.c_char_p()
            _check(self._lib.simdmf_trainer_get_string(self._handle, k, ctypes.byref(s)))
            return s.value.decode()
        if o.type == "array":
            return self._get_array(self._lib.simdmf_trainer_get_array, k)
        v = ctypes.c_double()
        _check(self._lib.simdmf_trainer_get(self._handle, k, ctypes.byref(v)))
        return v.value

    def default(self, key):
        """The default of an option in effect for this trainer's other options (e.g. ``lr`` follows
        ``loss`` and ``solver``), whether or not the option itself was set."""
        o = _option(key)
        k = key.encode()
        if o.type == "string":
            s = ctypes.c_char_p()
            _check(self._lib.simdmf_trainer_default_string(self._handle, k, ctypes.byref(s)))
            return s.value.decode()
        if o.type == "array":
            return self._get_array(self._lib.simdmf_trainer_default_array, k)
        v = ctypes.c_double()
        _check(self._lib.simdmf_trainer_default(self._handle, k, ctypes.byref(v)))
        return v.value

    def _run(self, call, callback):
        """Runs ``call()`` (a C call returning a status) with ``callback`` bridged to the trainer's C
        progress callback, and clears it afterwards. Returns ``(status, errors)``: the exceptions the
        callback raised (the first one stopped the run)."""
        self.cancelled = False
        errors = []
        c_cb = None
        if callback is not None:
            def bridge(info_p, _user):
                try:
                    return 1 if callback(_epoch(info_p.contents)) is False else 0
                except BaseException as e:  # noqa: B902 - must not unwind through C
                    errors.append(e)
                    return 1
            c_cb = _PROGRESS_FN(bridge)
            _check(self._lib.simdmf_trainer_set_callback(self._handle, c_cb, None))
        try:
            st = call()
        finally:
            if c_cb is not None:
                self._lib.simdmf_trainer_set_callback(self._handle, _PROGRESS_FN(), None)
        return st, errors

    def _report_call(self, call, callback):
        """Runs a C call that hands back a report; returns the report as a dict."""
        out = ctypes.c_void_p()
        st, errors = self._run(lambda: call(ctypes.byref(out)), callback)
        message = self._lib.simdmf_last_error().decode("utf-8", "replace") if st != OK else ""
        report = _report(out.value)
        if errors:
            raise errors[0]
        if st == CANCELLED:
            self.cancelled = True
        if st != OK:
            raise SimdmfError(st, message, report=report)
        return report

    def cross_validate(self, data, folds=5, seed=1, k=0, threshold=4.0, callback=None):
        """k-fold cross-validation of these options on ``data`` (a Dataset); returns a dict in the
        report's order: per metric its mean ``"rmse"`` and ``"rmse_std"`` (``"log_loss"``, ``"auc"``,
        ``"accuracy"`` for logistic; with ``k > 0`` also ``"precision@k"``, ``"recall@k"``,
        ``"ndcg@k"``, ``"map@k"``: top-``k`` lists leaving out the fold's training items, relevant =
        rating >= ``threshold``), then ``"fold1.rmse"``, ..., ``"fold1.epochs"`` for every fold.

        ``callback(info)`` sees every epoch of every fold (``info.epoch`` starts again at 1 with each
        fold); returning ``False`` stops the run: :class:`SimdmfError` with status ``CANCELLED`` is
        raised and ``self.cancelled`` is True. An exception raised by the callback is re-raised here.
        """
        return self._report_call(
            lambda out: self._lib.simdmf_trainer_cross_validate(self._handle, _dataset(data, "data"), int(folds), int(seed),
                                                                int(k), float(threshold), out),
            callback)

    def tune(self, train, k=None, lr=None, l2=None, epochs=None, budget=0, valid_fraction=0.1, seed=1,
             method="grid", parallel=1, extend=3, callback=None):
        """Hyper-parameter search over factor counts ``k``, learning rates ``lr``, L2 weights ``l2``
        and epoch counts ``epochs`` (sequences; ``None``: the library's default for the loss), scored on
        a validation split of ``valid_fraction`` of ``train`` (the other options of this trainer are
        kept). ``method`` is ``"grid"`` (``budget`` 0: every point, else a random subset of that many)
        or ``"random"`` (``budget`` runs, 0 = 20); ``parallel`` runs train at the same time (0: one per
        core). ``extend`` rounds of extension past an edge of the space (0: off; ``tune_extend`` in
        the C header). These settings stay on the trainer (keys ``tune_*``).

        Afterwards the trainer's ``k``, ``lr``, ``l2`` and ``epochs`` are the best run's, so
        :meth:`fit` trains the chosen model. Returns a dict in the report's order: ``"best.k"``,
        ``"best.lr"``, ``"best.l2"``, ``"best.epochs"``, ``"best.score"`` (validation RMSE or
        log-loss), ``"trials"``, ``"train_ratings"``, ``"valid_ratings"``, then ``"trial1.k"``,
        ``"trial1.lr"``, ``"trial1.l2"``, ``"trial1.epochs"``, ``"trial1.score"``, ``"trial2.k"``, ...,
        then ``"edge.k"``, ``"edge.lr"``, ``"edge.l2"``, ``"edge.epochs"`` (-1 / +1: the best is the
        smallest / largest value searched, so a better one may lie beyond; 0: inside) and ``"extended"``.

        ``callback(info)`` is called once per finished run (not per epoch): ``info.epoch`` = runs
        done, ``info.max_epochs`` = runs planned, ``info.valid_metric`` = the run's score. Returning
        ``False`` stops the search (runs in progress finish): :class:`SimdmfError` ``CANCELLED`` is
        raised, ``self.cancelled`` is True and the options are unchanged. When every run diverged,
        :class:`SimdmfError` ``ERR_DIVERGED`` is raised with the report in its ``.report``.
        """
        def space(values):
            return [] if values is None else np.atleast_1d(np.asarray(values, dtype=np.float64)).tolist()
        settings = {"tune_k": space(k), "tune_lr": space(lr), "tune_l2": space(l2), "tune_epochs": space(epochs)}
        for key, values in settings.items():
            a = np.ascontiguousarray(values, dtype=np.float64)
            _check(self._lib.simdmf_trainer_set_array(self._handle, key.encode(), _ptr(a, ctypes.c_double), len(a)))
        self.set(tune_budget=budget, tune_valid_fraction=valid_fraction, tune_seed=seed, tune_method=method,
                 tune_parallel=parallel, tune_extend=extend)
        return self._report_call(lambda out: self._lib.simdmf_trainer_tune(self._handle, _dataset(train, "train"), out),
                                 callback)

    def fit(self, train, valid=None, callback=None, take=False, init=None):
        """Trains a :class:`Model` on ``train`` (a Dataset), with optional validation data.

        ``init`` (a neural CF :class:`Model` of option ``model``'s kind, e.g. from
        :meth:`Model.neumf_from`) is the starting point instead of the seeded initialisation; its shape
        is kept and ``train`` must have its users, items and ids (simdmf_trainer_fit_from).

        ``take=True`` lets the trainer release ``train``'s ratings while it copies them (about half
        the peak memory on large data); ``train`` then holds no ratings. The model is the same.

        ``callback(info)`` gets an :class:`EpochInfo` after every epoch; returning ``False`` stops
        training: the model of the epochs done is returned and ``self.cancelled`` is True. An exception
        raised by the callback stops training and is re-raised here.

        ``train`` (and ``valid``) may also be a scipy.sparse users x items matrix (Dataset.from_sparse).

        Data that trains a trivial model (every value the same; one class only for logistic loss) is
        reported as a :class:`UserWarning` and kept in :attr:`warnings`.
        """
        train = _as_dataset(train)  # a scipy.sparse matrix of counts is accepted, as implicit's fit takes it
        valid = _as_dataset(valid) if valid is not None else None
        train_h = _dataset(train, "train")
        valid_h = _dataset(valid, "valid") if valid is not None else None
        out = ctypes.c_void_p()
        if init is not None:
            if take:
                raise ValueError("take=True does not apply to a fit from init")
            if not isinstance(init, Model):
                raise TypeError("init must be a Model")
            init_h = init._handle
            call = lambda: self._lib.simdmf_trainer_fit_from(self._handle, train_h, valid_h, init_h, ctypes.byref(out))
        else:
            fit_fn = self._lib.simdmf_trainer_fit_take if take else self._lib.simdmf_trainer_fit
            call = lambda: fit_fn(self._handle, train_h, valid_h, ctypes.byref(out))
        st, errors = self._run(call, callback)
        model = Model(out.value) if out.value else None
        if errors:
            if model is not None:
                model.close()
            raise errors[0]
        if st == CANCELLED:
            self.cancelled = True
            return model
        if st == ERR_DIVERGED:
            raise SimdmfError(st, self._lib.simdmf_last_error().decode("utf-8", "replace"), model=model)
        _check(st)
        for w in self.warnings:
            _warnings.warn(w, UserWarning, stacklevel=2)
        return model

    @property
    def warnings(self):
        """Warnings of the last fit about its data (e.g. one class only), as strings."""
        n = ctypes.c_size_t()
        _check(self._lib.simdmf_trainer_warning_count(self._handle, ctypes.byref(n)))
        out = []
        for j in range(n.value):
            t = ctypes.c_char_p()
            _check(self._lib.simdmf_trainer_warning(self._handle, j, ctypes.byref(t)))
            out.append(t.value.decode("utf-8", "replace"))
        return out

    @property
    def history(self):
        """List of :class:`EpochInfo` of the last fit."""
        n = ctypes.c_size_t()
        _check(self._lib.simdmf_trainer_history_size(self._handle, ctypes.byref(n)))
        out = []
        info = _EpochInfoC()
        for j in range(n.value):
            _check(self._lib.simdmf_trainer_history_get(self._handle, j, ctypes.byref(info)))
            out.append(_epoch(info))
        return out


# --------------------------------------------------------------------------------------------------
# Model
# --------------------------------------------------------------------------------------------------

class _Scratch(threading.local):
    """One simdmf_scratch per thread for the batch calls, made on first use, freed with the thread."""

    handle = None

    def get(self):
        if self.handle is None:
            out = ctypes.c_void_p()
            _check(_L().simdmf_scratch_create(ctypes.byref(out)))
            self.handle = _ScratchHandle(out.value)
        return self.handle._h


class _ScratchHandle:
    def __init__(self, h):
        self._h = ctypes.c_void_p(h)
        self._lib = _L()

    def __del__(self):
        try:
            self._lib.simdmf_scratch_free(self._h)
        except Exception:
            pass


_SCRATCH = _Scratch()


def _scratch():
    return _SCRATCH.get()


def _model_from_bytes(data):
    """Unpickles a Model from its model file's bytes."""
    fd, path = tempfile.mkstemp(suffix=".smf")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        return Model.load(path)
    finally:
        os.unlink(path)


class Model(_Handle):
    """A trained factor model: predictions, top-N, similarity, persistence."""

    _free = "simdmf_model_free"

    @classmethod
    def load(cls, path):
        """Reads a model file written by :meth:`save`."""
        out = ctypes.c_void_p()
        _check(_L().simdmf_model_load(_path(path), ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def open(cls, path, mmap=False, verify=True):
        """Opens a model file. With ``mmap=True`` the model serves from a read-only memory mapping of
        the file (its tables are not copied; fold-in copies what it changes). ``verify=False`` skips the
        sections' checksums (for very large files whose integrity is known: a corrupted table would
        then serve wrong predictions). See simdmf_model_open in simdmf.h."""
        flags = (OPEN_MMAP if mmap else 0) | (0 if verify else OPEN_NO_VERIFY)
        out = ctypes.c_void_p()
        _check(_L().simdmf_model_open(_path(path), flags, ctypes.byref(out)))
        return cls(out.value)

    @classmethod
    def neumf_from(cls, gmf, mlp, alpha=0.5):
        """A NeuMF model initialised from a trained GMF and MLP model of the same data (He et al.
        2017): their embeddings and tower, the output unit weighted ``alpha`` (GMF) and ``1 - alpha``
        (MLP). Train it on with ``Trainer.fit(..., init=model)`` (option ``model="neumf"``)."""
        if not isinstance(gmf, Model) or not isinstance(mlp, Model):
            raise TypeError("gmf and mlp must be Model objects")
        out = ctypes.c_void_p()
        _check(_L().simdmf_model_neumf_from(gmf._handle, mlp._handle, float(alpha), ctypes.byref(out)))
        return cls(out.value)

    def save(self, path):
        """Writes the model file atomically."""
        _check(self._lib.simdmf_model_save(self._handle, _path(path)))

    def _info(self):
        kind = ctypes.c_int()
        k = ctypes.c_uint32()
        nu = ctypes.c_uint32()
        ni = ctypes.c_uint32()
        b = ctypes.c_int()
        _check(self._lib.simdmf_model_shape(self._handle, ctypes.byref(kind), ctypes.byref(k), ctypes.byref(nu),
                                            ctypes.byref(ni), ctypes.byref(b)))
        return kind.value, k.value, nu.value, ni.value, bool(b.value)

    @property
    def kind(self):
        """``"mf"`` (ratings) or ``"logistic"`` (probabilities)."""
        return {MODEL_MF: "mf", MODEL_LOGISTIC: "logistic"}.get(self._info()[0], "unknown")

    @property
    def name(self):
        """The member of the model family, as option ``model`` names it: ``"mf"``, ``"gmf"``,
        ``"mlp"`` or ``"neumf"``."""
        out = ctypes.c_char_p()
        _check(self._lib.simdmf_model_name(self._handle, ctypes.byref(out)))
        return out.value.decode()

    @property
    def k(self):
        """Factors per user / item (GMF / NeuMF: the GMF width; MLP: the embedding width)."""
        return self._info()[1]

    @property
    def shape(self):
        """``(n_users, n_items)``."""
        return self._info()[2:4]

    @property
    def has_biases(self):
        """Whether the model has bias terms."""
        return self._info()[4]

    @property
    def prediction_range(self):
        """``(min, max)`` that MF predictions are clamped to (``(-inf, inf)``: none). Assign a pair to
        change it; the training option ``clip_predictions`` sets it to the rating range."""
        lo = ctypes.c_float()
        hi = ctypes.c_float()
        _check(self._lib.simdmf_model_prediction_range(self._handle, ctypes.byref(lo), ctypes.byref(hi)))
        return lo.value, hi.value

    @prediction_range.setter
    def prediction_range(self, value):
        lo, hi = value
        _check(self._lib.simdmf_model_set_prediction_range(self._handle, float(lo), float(hi)))

    _TABLES = ("fp32", "fp16", "int8")

    def quantize(self, table, keep_fp32=False):
        """Quantizes the factor tables to ``"fp16"`` or ``"int8"`` (per-row scale); ``"fp32"`` drops the
        quantized tables again. Every prediction and top-N list then scores with them; ``save`` writes
        them and ``Model.open(..., mmap=True)`` maps them. ``keep_fp32=True`` keeps the fp32 tables too
        (re-ranking, similarity, ``factors``, fold-in). Raises UNSUPPORTED on a model that dropped its
        fp32 tables when asked for another type. Not thread-safe with other calls on this model."""
        if table not in self._TABLES:
            raise ValueError("table must be one of %s" % (self._TABLES,))
        _check(self._lib.simdmf_model_quantize(self._handle, self._TABLES.index(table), 1 if keep_fp32 else 0))

    @property
    def table(self):
        """The table type this model scores with: "fp32", "fp16" or "int8"."""
        t, has = ctypes.c_int(), ctypes.c_int()
        _check(self._lib.simdmf_model_table(self._handle, ctypes.byref(t), ctypes.byref(has)))
        return self._TABLES[t.value]

    @property
    def has_fp32(self):
        """True when the model holds fp32 factor tables (False: a quantized model that dropped them)."""
        t, has = ctypes.c_int(), ctypes.c_int()
        _check(self._lib.simdmf_model_table(self._handle, ctypes.byref(t), ctypes.byref(has)))
        return bool(has.value)

    def set_rerank(self, factor):
        """Exact fp32 re-ranking of ``factor * n`` candidates (at most 4,096) of each top-N list of a
        quantized model that kept its fp32 tables; 0 or 1 turns it off (the default). Saved by ``save``
        with the quantized tables and read back by ``load`` / ``open``."""
        _check(self._lib.simdmf_model_set_rerank(self._handle, int(factor)))

    def predict(self, user, item):
        """Prediction for one (user, item): a rating (clamped to ``prediction_range``), or P(+1) for
        logistic models."""
        out = ctypes.c_float()
        _check(self._lib.simdmf_model_predict(self._handle, _index(user, "user"), _index(item, "item"),
                                                ctypes.byref(out)))
        return out.value

    def predict_batch(self, users, items):
        """Predictions for pairs ``(users[j], items[j])`` as a float32 array."""
        u = _index_array(users, "users")
        i = _index_array(items, "items")
        if len(u) != len(i):
            raise SimdmfError(ERR_INVALID_ARGUMENT, "users and items differ in length")
        out = np.empty(len(u), dtype=np.float32)
        _check(self._lib.simdmf_model_predict_batch(self._handle, _ptr(u, ctypes.c_uint32), _ptr(i, ctypes.c_uint32),
                                                    len(u), _ptr(out, ctypes.c_float)))
        return out

    def predict_row(self, user):
        """Predictions for every item for one user."""
        out = np.empty(self.shape[1], dtype=np.float32)
        _check(self._lib.simdmf_model_predict_row(self._handle, _index(user, "user"), _ptr(out, ctypes.c_float)))
        return out

    def predict_all(self):
        """The full ``(n_users, n_items)`` prediction matrix."""
        nu, ni = self.shape
        out = np.empty((nu, ni), dtype=np.float32)
        _check(self._lib.simdmf_model_predict_all(self._handle, _ptr(out, ctypes.c_float)))
        return out

    def recommend(self, user, n=10, exclude=None, filter_items=None, items=None):
        """Top-``n`` items by score, best first (ties by lower index), leaving out each user's items in
        ``exclude`` (a Dataset), the items in ``filter_items`` (a deny-list) and, when ``items`` is given,
        every item not in it (an allow-list), as implicit's ``recommend`` does.

        ``user`` an integer: ``(items, scores)``, 1-D, as long as the list (up to ``n``).
        ``user`` an array of B users: one batched call (scores by blocks of users x items); 2-D
        ``(items, scores)`` of shape (B, n'), n' = min(n, n_items), ``items`` int64 with -1 (and score NaN)
        past a user's list when it is shorter. Scores are predictions."""
        f = self._filter(exclude, filter_items, items)
        if np.ndim(user) == 0:
            out = np.empty(n, dtype=np.uint32)
            scores = np.empty(n, dtype=np.float32)
            got = ctypes.c_size_t()
            _check(self._lib.simdmf_model_recommend_filtered(self._handle, _index(user, "user"), int(n),
                                                             ctypes.byref(f[0]), _ptr(out, ctypes.c_uint32),
                                                             _ptr(scores, ctypes.c_float), ctypes.byref(got)))
            return out[:got.value].copy(), scores[:got.value].copy()
        users = _index_array(user, "users")
        width = min(int(n), self.shape[1])
        out = np.empty((len(users), width), dtype=np.uint32)
        scores = np.empty((len(users), width), dtype=np.float32)
        counts = np.empty(len(users), dtype=np.uintp)
        _check(self._lib.simdmf_model_recommend_batch(self._handle, _ptr(users, ctypes.c_uint32), len(users), width,
                                                      ctypes.byref(f[0]), _scratch(), _ptr(out, ctypes.c_uint32),
                                                      _ptr(scores, ctypes.c_float), _ptr(counts, ctypes.c_size_t)))
        ids = out.astype(np.int64)
        short = np.arange(width)[None, :] >= counts.astype(np.int64)[:, None]
        ids[short] = -1
        scores[short] = np.nan
        return ids, scores

    def _filter(self, exclude, deny, allow):
        """A simdmf_filter and the arrays it points to (kept alive by the returned tuple)."""
        f = _FilterC()
        f.struct_size = ctypes.sizeof(_FilterC)
        keep = [f]
        if exclude is not None:
            f.exclude = _dataset(exclude, "exclude")
        if deny is not None:
            d = np.unique(_index_array(deny, "filter_items"))
            keep.append(d)
            f.deny = _ptr(d, ctypes.c_uint32)
            f.n_deny = len(d)
        if allow is not None:
            a = np.unique(_index_array(allow, "items"))
            keep.append(a)
            f.allow = _ptr(a, ctypes.c_uint32)
            f.n_allow = len(a)
        return keep

    def similarity(self, a, b, side="items"):
        """Cosine similarity of two items (or users, with ``side="users"``)."""
        out = ctypes.c_float()
        _check(self._lib.simdmf_model_similarity(self._handle, _side(side), _index(a, "a"), _index(b, "b"),
                                                   ctypes.byref(out)))
        return out.value

    def nearest(self, index, n=10, side="items", metric="cosine"):
        """The ``n`` most similar ``(indices, similarities)`` to ``index``, itself excluded, best first, by
        ``metric`` "cosine" or "dot". ``index`` an array of B queries: one batched call, 2-D results of
        shape (B, n') as :meth:`recommend` gives (indices int64, -1 past a short list)."""
        if metric not in ("cosine", "dot"):
            raise SimdmfError(ERR_INVALID_ARGUMENT, 'metric must be "cosine" or "dot"')
        if np.ndim(index) == 0 and metric == "cosine":
            idx = np.empty(n, dtype=np.uint32)
            sims = np.empty(n, dtype=np.float32)
            got = ctypes.c_size_t()
            _check(self._lib.simdmf_model_nearest(self._handle, _side(side), _index(index, "index"), int(n),
                                                  _ptr(idx, ctypes.c_uint32), _ptr(sims, ctypes.c_float),
                                                  ctypes.byref(got)))
            return idx[:got.value].copy(), sims[:got.value].copy()
        queries = _index_array(np.atleast_1d(index), "index")
        count = self.shape[0 if _side(side) == USERS else 1]
        width = min(int(n), count)
        out = np.empty((len(queries), width), dtype=np.uint32)
        sims = np.empty((len(queries), width), dtype=np.float32)
        counts = np.empty(len(queries), dtype=np.uintp)
        _check(self._lib.simdmf_model_nearest_batch(self._handle, _side(side), 0 if metric == "cosine" else 1,
                                                    _ptr(queries, ctypes.c_uint32), len(queries), width, _scratch(),
                                                    _ptr(out, ctypes.c_uint32), _ptr(sims, ctypes.c_float),
                                                    _ptr(counts, ctypes.c_size_t)))
        ids = out.astype(np.int64)
        short = np.arange(width)[None, :] >= counts.astype(np.int64)[:, None]
        ids[short] = -1
        sims[short] = np.nan
        if np.ndim(index) == 0:
            return ids[0, :counts[0]].astype(np.uint32), sims[0, :counts[0]].copy()
        return ids, sims

    def __reduce__(self):
        """Pickling: the model file's bytes (format v2), read back by :meth:`load`."""
        fd, path = tempfile.mkstemp(suffix=".smf")
        os.close(fd)
        try:
            self.save(path)
            with open(path, "rb") as fh:
                data = fh.read()
        finally:
            os.unlink(path)
        return (_model_from_bytes, (data,))

    def factors(self, index, side="users"):
        """``(factors, bias)`` of one user or item (bias 0 without biases)."""
        out = np.empty(self.k, dtype=np.float32)
        bias = ctypes.c_float()
        _check(self._lib.simdmf_model_factors(self._handle, _side(side), _index(index, "index"), _ptr(out, ctypes.c_float),
                                              ctypes.byref(bias)))
        return out, bias.value

    def fold_in_user(self, items, values, l2=0.05, raw_id=-1):
        """Adds a user not seen in training from its ratings of ``items`` (model indices) without
        retraining; returns the new user's index. ``raw_id`` goes into the user id map if the model has one."""
        if np.ndim(items) != 1:
            raise ValueError("items and values must be 1-D arrays of the same length")
        it = _index_array(items, "items")
        va = np.ascontiguousarray(values, dtype=np.float32)
        if it.shape != va.shape or it.ndim != 1:
            raise ValueError("items and values must be 1-D arrays of the same length")
        out = ctypes.c_uint32()
        _check(self._lib.simdmf_model_fold_in_user(self._handle, _ptr(it, ctypes.c_uint32), _ptr(va, ctypes.c_float),
                                                   len(it), float(l2), _index(raw_id, "raw_id", *_I64),
                                                   ctypes.byref(out)))
        return out.value

    def evaluate(self, test, exclude=None, k=0, threshold=4.0, leave_out_cold=False):
        """Metrics on held-out ratings ``test`` (a Dataset in the model's id space: load it with
        ``Dataset.load(path, like=model)`` or :meth:`Dataset.align` it; another space raises
        SimdmfError ERR_INVALID_ARGUMENT) as a dict in a fixed order: ``"rmse"``, ``"mae"`` (MF) or
        ``"log_loss"``, ``"auc"``, ``"accuracy"`` (logistic); with ``k > 0`` also ``"precision@k"``,
        ``"recall@k"``, ``"ndcg@k"``, ``"map@k"`` of each user's top-``k`` list leaving out the user's
        items in ``exclude`` (e.g. the training set; relevant: rating >= ``threshold``, or label +1);
        then ``"ratings"`` (scored), ``"cold_ratings"`` (naming a user or item the model does not know:
        scored with its fallback mu + b_i / mu + b_u / mu, or left out with ``leave_out_cold``),
        ``"left_out"`` (and ``"ranking_users"`` with k > 0)."""
        out = ctypes.c_void_p()
        _check(self._lib.simdmf_model_evaluate_ex(self._handle, _dataset(test, "test"),
                                                  _dataset(exclude, "exclude") if exclude is not None else None,
                                                  int(k), float(threshold), COLD_LEAVE_OUT if leave_out_cold else 0,
                                                  ctypes.byref(out)))
        return _report(out.value)

    def evaluate_ranking(self, test, train, k=10, threshold=0.0, negatives=99, seed=1, leave_out_cold=False):
        """The ranking protocols for implicit feedback (simdmf_model_evaluate_ranking): a :class:`Report`
        (a dict) of the point metrics, ``"precision@k"``, ``"recall@k"``, ``"ndcg@k"``, ``"map@k"`` over
        every item not in the user's ``train`` items, with ``negatives > 0`` ``"sampled_hr@k"`` and
        ``"sampled_ndcg@k"`` (each relevant test event ranked against ``negatives`` items the user has in
        neither set, seeded), the counts, then ``"popularity.<metric>"`` for the baseline that ranks
        items by their training count. Relevant: value >= ``threshold`` (0: every event), logistic
        label +1. ``report.notes`` says why any metric is undefined."""
        out = ctypes.c_void_p()
        _check(self._lib.simdmf_model_evaluate_ranking(self._handle, _dataset(test, "test"), _dataset(train, "train"),
                                                       int(k), float(threshold), int(negatives), int(seed),
                                                       COLD_LEAVE_OUT if leave_out_cold else 0, ctypes.byref(out)))
        return _report(out.value)

    def predict_dataset(self, data, leave_out_cold=False):
        """Predictions for every rating's pair of ``data`` (in the model's id space), as a float32 array;
        cold pairs get the model's fallback, or NaN with ``leave_out_cold``. Returns (predictions,
        number of cold pairs)."""
        n = len(data)
        out = np.empty(n, dtype=np.float32)
        cold = ctypes.c_size_t()
        _check(self._lib.simdmf_model_predict_dataset(self._handle, _dataset(data, "data"),
                                                      COLD_LEAVE_OUT if leave_out_cold else 0,
                                                      _ptr(out, ctypes.c_float), ctypes.byref(cold)))
        return out, cold.value

    def index(self, raw_id, side="users"):
        """Dense index of a raw id, str or int (SimdmfError ERR_NOT_FOUND when unknown)."""
        if isinstance(raw_id, (str, bytes)):
            return _lookup_text(self._lib.simdmf_model_index_text, self._handle, side, raw_id)
        out = ctypes.c_uint32()
        _check(self._lib.simdmf_model_index(self._handle, _side(side), _index(raw_id, "raw_id", *_I64),
                                              ctypes.byref(out)))
        return out.value

    def raw_id(self, index, side="users"):
        """Raw id of a dense index: a str for a model of string ids, else an int."""
        return _id_of(self._lib.simdmf_model_id_kind, self._lib.simdmf_model_id_text, self._handle, side, index)

    def id_kind(self, side="users"):
        """``"indices"`` (no id map), ``"integer"`` or ``"string"``."""
        k = ctypes.c_int()
        _check(self._lib.simdmf_model_id_kind(self._handle, _side(side), ctypes.byref(k)))
        return ("indices", "integer", "string")[k.value]

    # ---- factors in and out (docs/interop.md) ------------------------------------------------------

    @classmethod
    def from_factors(cls, user_factors, item_factors, user_bias=None, item_bias=None, global_bias=0.0, kind="mf",
                     prediction_range=None, user_ids=None, item_ids=None, copy=True):
        """A model from factor matrices trained elsewhere (Spark ALS, implicit, LIBMF, numpy): score =
        global_bias + user_bias[u] + item_bias[i] + user_factors[u] . item_factors[i]; ``kind`` "mf"
        (predictions clamped to ``prediction_range``, a (lo, hi) pair) or "logistic" (sigmoid).
        ``user_ids`` / ``item_ids``: raw ids, one per row. With ``copy=False`` the model serves from the
        arrays themselves (zero copy; they must be C-contiguous float32 with k a multiple of 16, and must
        not change while the model lives: the model keeps a reference)."""
        if kind not in ("mf", "logistic"):
            raise ValueError("kind must be 'mf' or 'logistic'")
        keep = []

        def table(a, name):
            a = np.asarray(a)
            if a.ndim != 2:
                raise ValueError("%s must be a 2-D array (rows x k)" % name)
            if not copy:
                if a.dtype != np.float32 or not a.flags.c_contiguous:
                    raise ValueError("copy=False needs %s as a C-contiguous float32 array" % name)
            else:
                a = np.ascontiguousarray(a, dtype=np.float32)
            keep.append(a)
            return a

        def vector(a, n, dtype, name):
            if a is None:
                return None
            a = np.ascontiguousarray(a, dtype=dtype)
            if a.shape != (n,):
                raise ValueError("%s must hold %d values, one per row" % (name, n))
            keep.append(a)
            return a

        uf = table(user_factors, "user_factors")
        vf = table(item_factors, "item_factors")
        if uf.shape[1] != vf.shape[1]:
            raise ValueError("user_factors has k = %d but item_factors k = %d" % (uf.shape[1], vf.shape[1]))
        t = _FactorTablesC()
        t.struct_size = ctypes.sizeof(_FactorTablesC)
        t.k = _index(uf.shape[1], "k")
        t.n_users = _index(uf.shape[0], "n_users")
        t.n_items = _index(vf.shape[0], "n_items")
        t.user_factors = uf.ctypes.data
        t.item_factors = vf.ctypes.data
        t.user_stride = uf.shape[1]
        t.item_stride = vf.shape[1]
        ub = vector(user_bias, uf.shape[0], np.float32, "user_bias")
        ib = vector(item_bias, vf.shape[0], np.float32, "item_bias")
        t.user_bias = ub.ctypes.data if ub is not None else None
        t.item_bias = ib.ctypes.data if ib is not None else None
        t.global_bias = float(global_bias)
        t.kind = MODEL_LOGISTIC if kind == "logistic" else MODEL_MF
        lo, hi = prediction_range if prediction_range is not None else (-np.inf, np.inf)
        t.min_prediction = float(lo)
        t.max_prediction = float(hi)
        uid = vector(user_ids, uf.shape[0], np.int64, "user_ids")
        iid = vector(item_ids, vf.shape[0], np.int64, "item_ids")
        t.user_ids = uid.ctypes.data if uid is not None else None
        t.item_ids = iid.ctypes.data if iid is not None else None
        out = ctypes.c_void_p()
        _check(_L().simdmf_model_from_factors(ctypes.byref(t), 0 if copy else 1, ctypes.byref(out)))
        model = cls(out.value)
        if not copy:
            model._borrowed = (uf, vf)  # the model reads these arrays: keep them alive
        return model

    @classmethod
    def import_factors(cls, format, users, items=None, map=False):
        """Reads factors written by another system: ``format`` is "spark-json", "csv", "npy", "npz"
        (implicit's saved models, np.savez) or "libmf"; ``users``/``items`` name files or folders of part
        files (one path for npz, libmf and folders written by :meth:`export_factors`). With ``map``,
        float32 arrays with k a multiple of 16 are served from the file mapped read-only instead of
        copied (SIMDMF_IMPORT_MAP: the file must stay unchanged while the model lives)."""
        if format not in _FACTOR_FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(sorted(_FACTOR_FORMATS)))
        out = ctypes.c_void_p()
        _check(_L().simdmf_model_import_flags(_FACTOR_FORMATS[format], _path(users),
                                              _path(items) if items is not None else None,
                                              1 if map else 0, ctypes.byref(out)))
        return cls(out.value)

    def export_factors(self, format, path):
        """Writes the factors as "json", "csv" or "npy" (a folder) or "npz" or "libmf" (a file);
        :meth:`import_factors` of the result gives a bit-identical model."""
        if format not in _FACTOR_FORMATS:
            raise ValueError("format must be one of %s" % ", ".join(sorted(_FACTOR_FORMATS)))
        _check(self._lib.simdmf_model_export(self._handle, _FACTOR_FORMATS[format], _path(path)))

    def _table(self, side):
        data = _f32p()
        stride = ctypes.c_size_t()
        rows = ctypes.c_uint32()
        k = ctypes.c_uint32()
        _check(self._lib.simdmf_model_factor_table(self._handle, _side(side), ctypes.byref(data), ctypes.byref(stride),
                                                   ctypes.byref(rows), ctypes.byref(k)))
        if rows.value == 0:
            return np.zeros((0, k.value), dtype=np.float32)
        buf = (ctypes.c_float * (rows.value * stride.value)).from_address(ctypes.addressof(data.contents))
        buf._simdmf_model = self  # the view keeps the model alive
        view = np.frombuffer(buf, dtype=np.float32).reshape(rows.value, stride.value)[:, :k.value]
        view.flags.writeable = False
        return view

    @property
    def user_factors(self):
        """The user factor matrix (n_users x k) as a read-only numpy view of the model's table (zero
        copy; valid while the model lives; fold-in may move the tables: read the property again after it)."""
        return self._table("users")

    @property
    def item_factors(self):
        """The item factor matrix (n_items x k), a read-only zero-copy view as :attr:`user_factors`."""
        return self._table("items")

    def _biases(self, side):
        data = _f32p()
        n = ctypes.c_size_t()
        g = ctypes.c_float()
        _check(self._lib.simdmf_model_bias_table(self._handle, _side(side), ctypes.byref(data), ctypes.byref(n),
                                                 ctypes.byref(g)))
        return (np.ctypeslib.as_array(data, shape=(n.value,)).copy() if n.value else None), g.value

    @property
    def user_bias(self):
        """The user biases as a numpy array (a copy), or None without biases."""
        return self._biases("users")[0]

    @property
    def item_bias(self):
        """The item biases as a numpy array (a copy), or None without biases."""
        return self._biases("items")[0]

    @property
    def global_bias(self):
        """The offset added to every score (0 without biases)."""
        return self._biases("users")[1]

    def __repr__(self):
        if self._h is None:
            return "<simdmf.Model closed>"
        kind, k, nu, ni, b = self._info()
        return "<simdmf.Model %s k=%d %d x %d%s>" % (self.kind, k, nu, ni, " biases" if b else "")

