# Lecture 004, "MNIST using CNN": Keras's mnist_cnn example as the lecture prints it,
# with the import lines changed (keras -> cnnfast.keras) and its one slip fixed
# (marked "# fixed:"): the lecture leaves out the reshape to (N, 28, 28, 1) that
# defines input_shape, so as printed Keras itself cannot run it.
# Run: python examples/lecture004_mnist_cnn.py   (real MNIST; Keras's note: 99.25%
# after 12 epochs)
from __future__ import print_function
import cnnfast.keras as keras
from cnnfast.keras.datasets import mnist
from cnnfast.keras.models import Sequential
from cnnfast.keras.layers import Dense, Dropout, Flatten
from cnnfast.keras.layers import Conv2D, MaxPooling2D
from cnnfast.keras import backend as K

batch_size = 128
num_classes = 10
epochs = 12

# input image dimensions
img_rows, img_cols = 28, 28

# the data, split between train and test sets
(x_train, y_train), (x_test, y_test) = mnist.load_data()

if K.image_data_format() == 'channels_first':  # fixed: this block (Keras's) was left out
    x_train = x_train.reshape(x_train.shape[0], 1, img_rows, img_cols)  # fixed
    x_test = x_test.reshape(x_test.shape[0], 1, img_rows, img_cols)  # fixed
    input_shape = (1, img_rows, img_cols)  # fixed
else:  # fixed
    x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)  # fixed
    x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1)  # fixed
    input_shape = (img_rows, img_cols, 1)  # fixed

x_train = x_train.astype('float32')
x_test = x_test.astype('float32')
x_train /= 255
x_test /= 255

# convert class vectors to binary class matrices
y_train = keras.utils.to_categorical(y_train, num_classes)
y_test = keras.utils.to_categorical(y_test, num_classes)

model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3),
                activation='relu',
                input_shape=input_shape))
model.add(Conv2D(64, (3, 3), activation='relu'))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(num_classes, activation='softmax'))

model.compile(loss=keras.losses.categorical_crossentropy,
              optimizer=keras.optimizers.Adadelta(),
              metrics=['accuracy'])

model.fit(x_train, y_train,
          batch_size=batch_size,
          epochs=epochs,
          verbose=1,
          validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
