# Lecture 004, "CIFAR10-CNN" steps 1-9 with the CNN of the second step 5: the
# lecture's Keras cells as one script (steps 1-4 as printed for the MLP), with the
# import lines changed (keras -> cnnfast.keras), the %matplotlib magic commented out
# ("# notebook:") and two slips that stop Keras fixed ("# fixed:"). Kept as printed:
# step 3 rescales into "x_tests", so the test accuracy is measured on unscaled images.
# CIFAR-10: cifar10.load_data() reads the official batches in $CNNFAST_DATA/cifar10
# (else ~/.cache/cnnfast/cifar10), else the JPEG folders or cifar10-jpeg.tar.gz in
# $CNNFAST_DATASETS or ~/.cnnfast/datasets (here: CNNFAST_DATASETS=../shared/datasets),
# else downloads the batches as Keras does.
# Run: python examples/lecture004_cifar10_cnn.py   (100 epochs, batch 32)
# 1. Load CIFAR -10 Database
import cnnfast.keras as keras
from cnnfast.keras.datasets import cifar10

# load the pre-shuffled train and test data
(x_train, y_train), (x_test, y_test) = cifar10.load_data ()

# 2. Visualize the first 24 training images
import numpy as np
import matplotlib.pyplot as plt
# %matplotlib inline  # notebook: an IPython magic, not Python

fig = plt.figure(figsize=(20,5))
for i in range (36):
    ax = fig.add_subplot(3, 12, i + 1, xticks=[], yticks=[])  # fixed: was "yticks[]", a syntax error
    ax.imshow(np.squeeze(x_train[i]))

# 3. Rescale the images by dividing every pixel in every image by 255
# rescale [0,255] --> [0,1]
x_train = x_train.astype('float32')/255
x_tests = x_test.astype('float32')/255  # as printed: "x_tests", so x_test stays in [0, 255]

# 4. Break dataset into Training, Testing, and Validation sets
from cnnfast.keras.utils import np_utils

# one-hot encode the labels
num_classes = len(np.unique(y_train))
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

# break training set into training and validation sets
(x_train, x_valid) = x_train[5000:], x_train[:5000]
(y_train, y_valid) = y_train[5000:], y_train[:5000]

# print shape of training sets
print('x_train shape:', x_train.shape)

# print number of training, validation, and test images
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')
print(x_valid.shape[0], 'validation samples')

# 5. Define the model architecture
from cnnfast.keras.models import Sequential
from cnnfast.keras.layers import Convolution2D, MaxPooling2D, Flatten, Dense, Dropout

model = Sequential()
model.add(Convolution2D(filters=16, kernel_size=2, padding='same', activation='relu',
                       input_shape=(32, 32, 3)))
model.add(MaxPooling2D(pool_size=2))
model.add(Convolution2D(filters=32, kernel_size=2, padding='same', activation='relu'))
model.add(MaxPooling2D(pool_size=2))
model.add(Convolution2D(filters=64, kernel_size=2, padding='same', activation='relu'))
model.add(MaxPooling2D(pool_size=2))
model.add(Dropout(0.3))
model.add(Flatten())
model.add(Dense(500, activation='relu'))
model.add(Dropout(0.4))
model.add(Dense(10, activation='softmax'))

model.summary()

# 6. Compile the model
# compile the model
model.compile(loss='categorical_crossentropy', optimizer= 'rmsprop',
               metrics=[ 'accuracy'])

# 7. Train the model
from cnnfast.keras.callbacks import ModelCheckpoint

# train the model
checkpointer = ModelCheckpoint(filepath='model.weights.best.hdf5', verbose=1,  # fixed: was 'MLP.weights.best.hdf5', which step 8 does not load
                                save_best_only=True)
hist = model.fit(x_train, y_train, batch_size=32, epochs=100,
                  validation_data=(x_valid, y_valid), callbacks=[checkpointer],
                  verbose=2, shuffle=True)

# 8. Load the model with the best classification accuracy on the validation set
# load the weights that yielded the best validation accuracy
model.load_weights('model.weights.best.hdf5')

# 9. Calculate classification accuracy on test set
# evaluate and print test accuracy
score = model.evaluate(x_test, y_test, verbose=0)
print('\n', 'Test accuracy:' , score[1])
