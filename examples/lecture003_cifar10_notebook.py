# Lecture 003, "CIFAR-10 Classification in Jupyter": the notebook's CIFAR-10 run, as one
# script. The lecture prints its model cell (In [6], here as printed) and its results
# (3 epochs: test accuracy 0.2071, 7,929 misclassified; 50 epochs: 0.8385); the other
# cells are the MNIST notebook's (examples/lecture003_mnist_notebook.py), which this
# one follows, with the changes CIFAR-10 needs marked "# cifar:" (the data set, its
# 32x32x3 shape and class names). Compile and fit are rebuilt as for MNIST ("# rebuilt:",
# see that script): Adadelta, ImageDataGenerator, ReduceLROnPlateau, batch 512,
# 97 = 50000 // 512 steps an epoch, as the lecture's log shows. The misclassified
# images shown are the first 40 ("# changed:": thousands of subplots take hours).
# CIFAR-10: cifar10.load_data() reads the official batches in $CNNFAST_DATA/cifar10,
# else the JPEG folders or cifar10-jpeg.tar.gz in $CNNFAST_DATASETS or
# ~/.cnnfast/datasets (here: CNNFAST_DATASETS=../shared/datasets). Figures need
# matplotlib, seaborn, pandas and scikit-learn (pip install "cnnfast[examples]").
# Run: python examples/lecture003_cifar10_notebook.py   (3 epochs of batch 512)

# In [1]:
'''Trains a simple ConvNet on the MNIST dataset. It gets over 99.60% test accuracy after 48 epochs (but there is still a margin for hyperparameter tuning). Training can take an hour or so!'''

# Import Libraries
from __future__ import print_function
import numpy as np
import math
from math import ceil
import cnnfast
import os
import seaborn as sns
import matplotlib.pyplot as plt # Library for plotting math functions
import pandas as pd
import cnnfast.keras as keras # Import keras framework with various functions, models and structures
from cnnfast.keras.datasets import cifar10  # cifar: was mnist
from cnnfast.keras.models import Sequential
from cnnfast.keras.layers import Dense, Dropout, Flatten
from cnnfast.keras.layers import Conv2D, MaxPooling2D
from cnnfast.keras import backend as K
from cnnfast.keras.preprocessing.image import ImageDataGenerator
from cnnfast.keras.callbacks import ReduceLROnPlateau
from sklearn import metrics
from sklearn.metrics import confusion_matrix, classification_report

# Set parameters for plots
# %matplotlib inline  # notebook: an IPython magic, not Python
plt.rcParams['image.interpolation'] = 'nearest'
plt.rcParams['image.cmap'] = 'gray'

print ("cnnfast version: " + cnnfast.__version__)  # notebook: was TensorFlow's version

# In [2]:
LABELS= ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck']  # cifar:

# Define the confusion matrix for the results
def show_confusion_matrix(validations, predictions, num_classes):
    matrix = metrics.confusion_matrix(validations, predictions)
    plt.figure(figsize=(num_classes, num_classes))
    hm = sns.heatmap(matrix,
                      cmap='coolwarm',
                      linecolor='white',
                      linewidths=1,
                      xticklabels=LABELS,
                      yticklabels=LABELS,
                      annot=True,
                      fmt='d')
    plt.yticks(rotation = 0) # Don't rotate (vertically) the y-axis labels
    hm.invert_yaxis() # Invert the labels of the y-axis
    hm.set_ylim(0, len(matrix))
    plt.title('Confusion Matrix')
    plt.ylabel('True Label')
    plt.xlabel('Predicted Label')
    plt.show()

# In [3]:
# Define hyperparameters
batch_size = 512 # size of mini-batches
num_classes = 10 # number of classes/digits: 0, 1, 2, ..., 9
epochs = 3 # how many times all training examples will be used to train the model

# Input image dimensions
img_rows, img_cols = 32, 32  # cifar: was 28, 28

# Split the data between train and test sets
(x_train, y_train), (x_test, y_test) = cifar10.load_data()  # cifar: 50000 training and 10000 testing examples

# In [4]:
# Show a few sample digits from the training set
plt.rcParams['figure.figsize'] = (2.5, 2.5) # set default size of plots
col1 = 10
row1 = 1
fig = plt.figure(figsize=(col1, row1))
for index in range(0, col1*row1):
    fig.add_subplot(row1, col1, index + 1)
    plt.axis('off')
    plt.imshow(x_train[index]) # index of the sample picture
    plt.title("Class " + str(y_train[index]))
plt.show()

# Show a few sample digits from the training set
plt.rcParams['figure.figsize'] = (1.0, 1.0) # set default size of plots
col2 = 20
row2 = 10
fig = plt.figure(figsize=(col2, row2))
for index in range(col1*row1, col1*row1 + col2*row2):
    fig.add_subplot(row2, col2, index - col1*row1 + 1)
    plt.axis('off')
    plt.imshow(x_train[index]) # index of the sample picture
plt.show()

# In [5]:
input_shape = x_train.shape[1:]  # cifar: (32, 32, 3) already, nothing to reshape

# Transform training and testing data and show their shapes
x_train = x_train.astype('float32') # Copy this array and cast it to a specified type
x_test = x_test.astype('float32') # Copy this array and cast it to a specified type
x_train /= 255 # Transform the training data from the range of 0 and 255 to the range of 0 and 1
x_test /= 255 # Transform the testing data from the range of 0 and 255 to the range of 0 and 1
print('x_train shape:', x_train.shape)
print(x_train.shape[0], 'train samples')
print(x_test.shape[0], 'test samples')

# Convert class vectors (integers) to binary class matrices using as specific
y_train = keras.utils.to_categorical(y_train, num_classes) # y_train - a converted class vector into
y_test = keras.utils.to_categorical(y_test, num_classes) # y_test - a converted class vector into c

# In [6]:
# Define the sequential Keras model composed of a few layers
model = Sequential() # establishes the type of the network model
# Conv2D - creates a convolutional layer (https://keras.io/layers/convolutional/#conv2d) with
# filters - specified number of convolutional filters
# kernel_size - defines the frame (sliding window) size where the convolutional filter is implemented
# activation - sets the activation function for this layers, here ReLU
# input_shape - defines the shape of the input matrix (vector), here input_shape = (1, img_rows, img_cols)
model.add(Conv2D(64, kernel_size=(3, 3),activation='relu', input_shape=input_shape))
model.add(Conv2D(64, (3, 3), activation='relu'))
# MaxPooling2D pools the max value from the frame (sliding window) of 2 x 2 size
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25)) # Implements the drop out with the probability of 0.25
model.add(Conv2D(128, (3, 3), activation='relu',padding='same'))
model.add(Conv2D(128, (3, 3), activation='relu',padding='same'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Conv2D(256, (3, 3), activation='relu',padding='same'))
model.add(Conv2D(256, (3, 3), activation='relu',padding='same'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.35))
# Finish the convolutional model and flatten the layer which does not affect the batch size.
model.add(Flatten())
# Use a dense layer (MLP) consisting of 256 neurons with relu activation functions
model.add(Dense(256, activation='relu'))
model.add(Dropout(0.35))
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.25))
model.add(Dense(num_classes, activation='softmax'))

# In [7]:  rebuilt: the lecture does not print this cell. Its output shows Keras's
# Adadelta (learning rate 1.0, halved by ReduceLROnPlateau to 0.25 at epoch 37 and
# 0.125 at epoch 49), 117 = 60000 // 512 steps an epoch of ImageDataGenerator batches,
# the test set as validation data ('val_acc' equals the test accuracy) and the metric
# named 'acc'; the generator's ranges and the callback's patience are the common ones
# of the MNIST notebooks this one follows.
model.compile(loss=keras.losses.categorical_crossentropy,  # rebuilt
              optimizer=keras.optimizers.Adadelta(),  # rebuilt
              metrics=['acc'])  # rebuilt
learning_rate_reduction = ReduceLROnPlateau(monitor='val_acc', patience=3, verbose=1,  # rebuilt
                                            factor=0.5, min_lr=0.0001)  # rebuilt
datagen = ImageDataGenerator(rotation_range=10, zoom_range=0.1,  # rebuilt
                             width_shift_range=0.1, height_shift_range=0.1)  # rebuilt
datagen.fit(x_train)  # rebuilt
history = model.fit_generator(datagen.flow(x_train, y_train, batch_size=batch_size),  # rebuilt
                              epochs=epochs, validation_data=(x_test, y_test), verbose=1,  # rebuilt
                              steps_per_epoch=x_train.shape[0] // batch_size,  # rebuilt
                              callbacks=[learning_rate_reduction])  # rebuilt

# In [8]:
# Evaluate the model and print out the final scores for the test set
score = model.evaluate(x_test, y_test, verbose=0) # evaluate the model on the test set
print('Test loss:', score[0]) # print out the loss = score[0] (generalization error)
print('Test accuracy:', score[1]) # print out the generalization accuracy = score[1] of the model on test set

# Plot training & validation accuracy values: https://keras.io/visualization/#training-history-visualization
plt.rcParams['figure.figsize'] = (15.0, 5.0) # set default size of plots
plt.plot(history.history['acc']) # The history object gets returned by the fit method of models.
plt.plot(history.history['val_acc']) # val_accuracy
plt.title('Model accuracy')
plt.ylabel('Accuracy')
plt.xlabel('Epoch')
plt.legend(['Train', 'Test'], loc='upper left') # OR plt.Legend(['Train', 'Validation'], Loc='upper left')
plt.show()

# Plot training & validation Loss values: https://keras.io/visualization/#training-history-visualizatio
plt.plot(history.history['loss']) # The history object gets returned by the fit method of models.
plt.plot(history.history['val_loss'])
plt.title('Model loss')
plt.ylabel('Loss')
plt.xlabel('Epoch')
plt.legend(['Train', 'Test'], loc='upper left') # OR plt.Legend(['Train', 'Validation'], Loc='upper left')
plt.show()

# In [11]:
# Use the trained model for predictions of the test data
y_pred_test = model.predict(x_test)

# Take the class with the highest probability from the test predictions as a winning one
max_y_pred_test = np.argmax(y_pred_test, axis=1)
max_y_test = np.argmax(y_test, axis=1)

# Show the confusion matrix of the collected results
show_confusion_matrix(max_y_test, max_y_pred_test, num_classes)

# Print classification report
print(classification_report(max_y_test, max_y_pred_test))

# In [10]:
# Find out misclassified examples
classcheck = max_y_test - max_y_pred_test # 0 - when the class is the same, 1 - otherwise
misclassified = np.where(classcheck != 0)[0]
num_misclassified = len(misclassified)

# Print misclassification report
print('Number of misclassified examples: ', str(num_misclassified))
print('Misclassified examples:')
print(misclassified)

# Show misclassified examples:
print('Misclassified images (original class : predicted class):')
plt.rcParams['figure.figsize'] = (2.5, 2.5) # set default size of plots
col = 10
row = 2 * math.ceil(min(num_misclassified, 40) / col)  # changed: was num_misclassified
fig = plt.figure(figsize=(col, row))
for index in range(0, min(num_misclassified, 40)):  # changed: was num_misclassified
    fig.add_subplot(row, col, index + 1 + col*(index//col))
    plt.axis('off')
    plt.imshow(x_test[misclassified[index]])  # cifar: colour images, not reshaped to 28x28
    plt.title(str(max_y_test[misclassified[index]]) + ":" + str(max_y_pred_test[misclassified[index]]))
plt.show()
