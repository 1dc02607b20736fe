# Lecture 004, "CIFAR10-CNN" with image augmentation (steps 5-11 of the augmented
# notebook, after steps 1-4 as printed for the MLP): the lecture's Keras cells as one
# script, with the import lines changed (keras -> cnnfast.keras), the %matplotlib
# magic commented out ("# notebook:") and one slip that stops Keras fixed
# ("# fixed:"). The lecture names step 9 (train) without printing it; it is rebuilt
# ("# rebuilt:") as the notebook the lecture follows has it: fit_generator on
# datagen.flow, batch 32, 100 epochs, a checkpoint to 'aug_model.weights.best.hdf5'
# (the file step 10 loads). Kept as printed: step 3 rescales into "x_tests", so the
# test accuracy is measured on unscaled images (the lecture's: 0.6825).
# CIFAR-10: cifar10.load_data() reads the official batches in $CNNFAST_DATA/cifar10
# (else ~/.cache/cnnfast/cifar10), else the JPEG folders or cifar10-jpeg.tar.gz in
# $CNNFAST_DATASETS or ~/.cnnfast/datasets (here: CNNFAST_DATASETS=../shared/datasets),
# else downloads the batches as Keras does.
# Run: python examples/lecture004_cifar10_augmentation.py   (100 epochs, batch 32)
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

# 5. Create and configure augmented image generator
from cnnfast.keras.preprocessing.image import ImageDataGenerator

# create and configure augmented image generator
datagen = ImageDataGenerator(
    width_shift_range=0.1, # randomly shift images horizontally (10% of total width)
    height_shift_range=0.1, # randomly shift images vertically (10% of total height)
    horizontal_flip=True) # randomly flip images horizontally

# fit augmented image generator on data
datagen.fit(x_train)

# 6. Visualize original and augmented images
import matplotlib.pyplot as plt

# take subset of training data
x_train_subset = x_train[:12]

# visualize subset of training data
fig = plt.figure(figsize=(20,2))
for i in range(0, len(x_train_subset)):
    ax = fig.add_subplot(1, 12, i+1)
    ax.imshow(x_train_subset[i])
fig.suptitle('Subset of Original Training Images', fontsize=20)

# visualize augmented images
fig = plt.figure(figsize=(20,2))
for x_batch in datagen.flow(x_train_subset, batch_size=12):
    for i in range(0, 12):
        ax = fig.add_subplot(1, 12, i+1)
        ax.imshow(x_batch[i])
    fig.suptitle('Augmented Images', fontsize=20)
    plt.show()
    break;

# 7. Define the model architecture
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

# 8. Compile the model
# compile the model
model.compile(loss='categorical_crossentropy', optimizer='rmsprop',
               metrics=['accuracy'])

# 9. Train the model
from cnnfast.keras.callbacks import ModelCheckpoint  # rebuilt

batch_size = 32  # rebuilt
epochs = 100  # rebuilt

# train the model
checkpointer = ModelCheckpoint(filepath='aug_model.weights.best.hdf5', verbose=1,  # rebuilt
                               save_best_only=True)  # rebuilt
model.fit_generator(datagen.flow(x_train, y_train, batch_size=batch_size),  # rebuilt
                    steps_per_epoch=x_train.shape[0] // batch_size,  # rebuilt
                    epochs=epochs, verbose=2, callbacks=[checkpointer],  # rebuilt
                    validation_data=(x_valid, y_valid),  # rebuilt
                    validation_steps=x_valid.shape[0] // batch_size)  # rebuilt

# 10. Load the model with the best validation accuracy
# load the weights that yielded the best validation accuracy
model.load_weights('aug_model.weights.best.hdf5')

# 11. Calculate classification accuracy on test set
# evaluate and print test accuracy
score = model.evaluate(x_test, y_test, verbose=0)
print('\n', 'Test accuracy:' , score[1])
