"""cnnfast.training: fit / evaluate / predict, History, callbacks, atomic result files."""

from .callbacks import Callback, EarlyStopping, ModelCheckpoint, ReduceLROnPlateau
from .files import load_npz, load_weights, save_npz, save_weights
from .history import History
from .loop import evaluate, fit, predict, predict_logits, train_epoch
