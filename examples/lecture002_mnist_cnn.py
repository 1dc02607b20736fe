# Lecture 002, §5.2 "Mnist digit classifier with deep Convolution layers": the
# lecture's Keras script with only the import lines changed (keras -> cnnfast.keras).
# Run: python examples/lecture002_mnist_cnn.py   (real MNIST; ~3 min on 2 cores)
from cnnfast.keras.datasets import mnist
from cnnfast.keras.models import Sequential
from cnnfast.keras.layers import Dense, Dropout, Flatten
from cnnfast.keras.layers import Conv2D, MaxPooling2D
from cnnfast.keras.utils import to_categorical as ohe

batch_size = 128; num_classes = 10; epochs = 12

# input image dimensions
img_rows, img_cols = 28, 28
input_shape=(img_rows, img_cols,1)

# load mnist image and train and test datasets
(x_train, y_train), (x_test, y_test) = mnist.load_data()
x_train = x_train.reshape(x_train.shape[0], img_rows, img_cols,
                          1).astype(float)/255
x_test = x_test.reshape(x_test.shape[0], img_rows, img_cols,
                        1).astype(float)/255
print('x_train shape: {} y_train shape: {}'.format(x_train.shape, y_train.shape))
print('x_test shape : {} y_test shape : {}'.format(x_test.shape, y_test.shape))

# convert label to one_hot_encoding(label,10)
y_train_ohe = ohe(y_train, num_classes)
y_test_ohe = ohe(y_test, num_classes)

model = Sequential()
#convolution layer
model.add(Conv2D(32, kernel_size=(3, 3), activation='relu',
                 input_shape=input_shape)) #26,26,32
model.add(MaxPooling2D(pool_size=(2, 2))) #14,14,32
model.add(Dropout(0.25))

model.add(Conv2D(64, kernel_size=(3, 3), activation='relu')) #14,14,64
model.add(MaxPooling2D(pool_size=(2, 2))) #7,7,64
model.add(Dropout(0.25))

model.add(Flatten()) #3136 = 7*7*64
model.add(Dense(128, activation='relu')) #128
model.add(Dropout(0.25))
model.add(Dense(num_classes, activation='softmax')) #10

model.compile(
    loss='categorical_crossentropy',
    optimizer='adam',
    metrics=['accuracy'])

model.fit(x_train, y_train_ohe, validation_data=(x_test, y_test_ohe),
         batch_size=batch_size, epochs=epochs, verbose=1)

score = model.evaluate(x_test, y_test_ohe, verbose=0)
print('Test loss:', score[0])
print('Test accuracy:', score[1])
