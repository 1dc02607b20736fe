# Lecture 000, §4.2 "Mnist digit classifier with 1 Convolution layer": the lecture's
# Keras script with the import lines changed (keras -> cnnfast.keras) and its three
# slips fixed (marked "# fixed:"; as printed, Keras itself cannot run it).
# Run: python examples/lecture000_mnist_1conv.py   (real MNIST; the lecture: 98.8%)
from cnnfast.keras.datasets import mnist
from cnnfast.keras.models import Sequential
from cnnfast.keras.layers import Dense, Dropout, Flatten
from cnnfast.keras.layers import Conv2D, MaxPooling2D
from cnnfast.keras.utils import np_utils, to_categorical
batch_size = 128
# input image dimensions
img_rows, img_cols = 28, 28
input_shape=(img_rows, img_cols, 1)
# load mnist
(x_train, y_train), (x_test, y_test) = mnist.load_data()  # fixed: the test split was not unpacked
x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols, 1)
x_train = x_train.astype('float32') / 255
x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols, 1).astype('float32') / 255  # fixed: was missing
y_train = np_utils.to_categorical(y_train, num_classes=10)
# convert labels
y_train = y_train  # fixed: was to_categorical(y_train), a second one-hot of one-hot rows
y_test = to_categorical(y_test, num_classes=10)
# build the model
model = Sequential()
model.add(Conv2D(32, kernel_size=(3, 3),
                 activation='relu',
                 input_shape=input_shape))
model.add(MaxPooling2D(pool_size=(2, 2)))
model.add(Dropout(0.25))
model.add(Flatten())
model.add(Dense(128, activation='relu'))
model.add(Dropout(0.5))
model.add(Dense(10, activation='softmax'))
model.compile(loss='categorical_crossentropy',
              optimizer='adadelta',
              metrics=['accuracy'])
model.fit(x_train, y_train,
          batch_size=batch_size,
          epochs=12,
          verbose=1,
          validation_data=(x_test, y_test))
score = model.evaluate(x_test, y_test, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
