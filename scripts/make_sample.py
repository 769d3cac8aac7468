"""Generate the bundled sample benchmark (evalkit/sample_data) in the Hugging Face MIRACL layout.

Every text below was written for evalkit (original, CC0). Short passages are real encyclopedic facts; the long
articles describe fictional places and are composed section by section from authored sentence templates, with
the one answer-bearing sentence placed past a set token offset (its span is written to spans/); the lexical-trap
families come from scripts/sample_traps.py. Output is byte-identical across runs (fixed seed, gzip mtime=0). Usage: python scripts/make_sample.py [--out DIR]
"""
from __future__ import annotations

import argparse
import bisect
import gzip
import json
import random
from collections import Counter
from pathlib import Path

from sample_traps import trap_families

SEED = 20240611
LANGS = ["en", "es", "de", "ru", "ar", "hi", "zh", "ja", "ko", "th"]
EDGES = [512, 1024, 2048, 4096, 8192]
BUCKETS = ["<=512", "(512,1024]", "(1024,2048]", "(2048,4096]", "(4096,8192]", ">8192"]
SHORT_MAX_TOKENS = 400
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "evalkit" / "sample_data"
SLOTS = {"a": (100, 2900), "b": (11, 60), "c": (3, 9), "d": (1, 28)}

# Short passages. A block = one query ("Q ...") and its passages, "grade title | text" per line:
# 2 highly relevant, 1 partially relevant, 0 judged non-relevant, "-" unjudged (distractor or filler).
# A block without "Q" holds filler passages on unrelated topics. Equal titles = passages of one article.
TEXT: dict[str, str] = {}

TEXT["en"] = """
Q At what temperature does water boil at an altitude of 3,000 metres?
2 Boiling point | At sea level water boils at 100 °C, but the boiling point falls as air pressure drops with altitude. At about 3,000 metres above sea level water boils at roughly 90 °C, which is why pasta and beans take longer to cook in high mountain towns.
1 High-altitude cooking | Cooks in mountain towns often use pressure cookers, because the lower boiling point of water at high altitude makes boiled and simmered food cook more slowly.
0 Freezing point | At sea level pure water freezes at 0 °C. The freezing point of water at altitude barely changes, since lower air pressure has only a tiny effect on the melting point of ice.

Q Who painted the ceiling of the Sistine Chapel?
2 Sistine Chapel | The ceiling of the Sistine Chapel in Vatican City was painted by Michelangelo between 1508 and 1512, on a commission from Pope Julius II. Its best-known panel shows the Creation of Adam.
- Sistine Chapel | The Sistine Chapel is also where the College of Cardinals meets in conclave to elect a new pope. Smoke from a stove in the chapel tells the crowd outside whether a vote has succeeded.
- The Last Supper | The Last Supper is a mural painted by Leonardo da Vinci in the 1490s on a wall of the refectory of Santa Maria delle Grazie in Milan.

Q How long is a marathon?
2 Marathon | A marathon is a long-distance running race over 42.195 kilometres (26 miles 385 yards). The distance was fixed by the IAAF in 1921, based on the course of the 1908 London Olympics.
0 Half marathon | A half marathon covers 21.0975 kilometres, exactly half the distance of a full marathon, and is one of the most popular road races for amateur runners.

Q Why do leaves change colour in autumn?
2 Autumn leaf colour | In autumn, deciduous trees stop producing chlorophyll, the green pigment used in photosynthesis. As the chlorophyll breaks down, yellow and orange carotenoids that were present all along become visible, and some species also make red anthocyanins.
1 Chlorophyll | Chlorophyll absorbs red and blue light and reflects green light, which is why most leaves look green during the growing season.
- Evergreen | Evergreen trees such as pines and spruces keep their needles through the winter and replace them gradually over several years.

Q What is the capital of Australia?
2 Canberra | Canberra is the capital city of Australia. It was chosen as a compromise between the rival cities of Sydney and Melbourne, and the federal Parliament first met there in 1927.
0 Sydney | Sydney is the largest city in Australia and the capital of the state of New South Wales. It is known for its harbour and the Sydney Opera House.

Q How does a heat pump heat a house?
2 Heat pump | A heat pump moves heat instead of producing it. A refrigerant absorbs heat from the outdoor air or the ground, a compressor raises its temperature, and the heat is released inside the house through radiators or warm air.
- Air conditioning | An air conditioner cools a room by pumping heat from the indoor air to the outside, using the same refrigeration cycle as a household refrigerator.

Q When did the first person land on the Moon?
2 Apollo 11 | Apollo 11 landed on the Moon on 20 July 1969. Neil Armstrong became the first person to walk on the lunar surface, followed by Buzz Aldrin, while Michael Collins stayed in orbit.
- Luna 2 | The Soviet probe Luna 2 became the first human-made object to reach the Moon when it struck the lunar surface in September 1959.

Q How much yeast do I need for one loaf of bread?
2 Bread | A typical loaf made with 500 grams of flour needs about 7 grams of dried yeast, roughly one sachet, together with 300 millilitres of warm water and a teaspoon of salt.
- Sourdough | Sourdough bread is leavened with a starter of wild yeast and lactic acid bacteria instead of commercial yeast, which gives it a slightly sour taste.

Q What is the longest river in Africa?
2 Nile | The Nile is the longest river in Africa, flowing about 6,650 kilometres northwards to the Mediterranean Sea. Its two main branches, the White Nile and the Blue Nile, meet at Khartoum.
0 Congo River | The Congo River carries more water than any other river in Africa and is the deepest river in the world, with depths of more than 220 metres.

- Honeybee | A honeybee colony has one queen, several thousand worker bees and, in summer, a few hundred drones. The workers collect nectar and pollen and turn the nectar into honey.
- Chess | Chess is played on a board of 64 squares. Each player starts with sixteen pieces, and the aim of the game is to checkmate the opponent's king.
"""

TEXT["es"] = """
Q ¿Qué ingredientes lleva la paella valenciana?
2 Paella valenciana | La paella valenciana tradicional se prepara con arroz, pollo, conejo, judía verde ancha, garrofón, tomate, aceite de oliva, pimentón, azafrán y agua. Se cocina en una sartén ancha y poco profunda que también se llama paella.
0 Paella de marisco | La paella de marisco sustituye la carne por gambas, mejillones, calamares y almejas, y suele cocinarse con un caldo de pescado.

Q ¿En qué año llegó Cristóbal Colón a América?
2 Cristóbal Colón | Cristóbal Colón llegó a América el 12 de octubre de 1492, cuando su expedición desembarcó en una isla de las Bahamas que los taínos llamaban Guanahani.
- Fernando de Magallanes | La expedición iniciada por Fernando de Magallanes en 1519 completó la primera vuelta al mundo en 1522, bajo el mando de Juan Sebastián Elcano.

Q ¿Cuál es la montaña más alta de España?
2 Teide | El Teide, en la isla de Tenerife, es la montaña más alta de España, con 3.715 metros sobre el nivel del mar. Es un volcán y su parque nacional es Patrimonio de la Humanidad.
0 Mulhacén | El Mulhacén, en Sierra Nevada, mide 3.479 metros y es el pico más alto de la península ibérica.

Q ¿Cómo se forma el arcoíris?
2 Arcoíris | Un arcoíris se forma cuando la luz del sol entra en las gotas de lluvia, se refracta, se refleja en el interior de la gota y vuelve a refractarse al salir. Como cada color se desvía con un ángulo distinto, la luz blanca se separa en un abanico de colores.
1 Refracción | La refracción es el cambio de dirección que sufre la luz al pasar de un medio a otro, por ejemplo del aire al agua.

Q ¿Cuántos jugadores tiene un equipo de fútbol en el campo?
2 Fútbol | En un partido de fútbol cada equipo alinea once jugadores en el campo, uno de los cuales es el portero, que es el único que puede tocar el balón con las manos dentro de su área.
- Fútbol sala | En el fútbol sala cada equipo juega con cinco jugadores en la pista, incluido el portero, sobre una cancha mucho más pequeña que la de fútbol.

Q ¿Quién escribió Cien años de soledad?
2 Cien años de soledad | Cien años de soledad es una novela del escritor colombiano Gabriel García Márquez, publicada en 1967. Narra la historia de la familia Buendía en el pueblo ficticio de Macondo.
- El amor en los tiempos del cólera | El amor en los tiempos del cólera es otra novela de Gabriel García Márquez, publicada en 1985, sobre un amor que espera más de cincuenta años.

Q ¿Por qué el cielo es azul?
2 Dispersión de Rayleigh | El cielo es azul porque las moléculas del aire dispersan mucho más la luz de longitud de onda corta, como la azul, que la luz roja. Este fenómeno se llama dispersión de Rayleigh.
- Atardecer | Al atardecer el cielo se vuelve rojizo porque la luz del sol recorre un camino más largo por la atmósfera y pierde gran parte del azul por el camino.

Q ¿Qué es la fotosíntesis?
2 Fotosíntesis | La fotosíntesis es el proceso por el que las plantas, las algas y algunas bacterias usan la energía de la luz para transformar dióxido de carbono y agua en glucosa, liberando oxígeno.
- Respiración celular | En la respiración celular, las células descomponen la glucosa con ayuda del oxígeno para obtener energía, y liberan dióxido de carbono y agua.

Q ¿Cuál es la capital de Argentina?
2 Buenos Aires | Buenos Aires es la capital de Argentina y su ciudad más poblada. Está situada en la orilla occidental del Río de la Plata.
0 Montevideo | Montevideo, la capital de Uruguay, se encuentra en la orilla norte del Río de la Plata, frente a la costa argentina.

Q ¿Cuánto tiempo hay que hervir un huevo para que quede duro?
2 Huevo duro | Para obtener un huevo duro se introduce en agua hirviendo y se cocina durante unos diez u once minutos; después conviene enfriarlo en agua fría para que se pele con facilidad.
1 Huevo pasado por agua | Un huevo pasado por agua se hierve solo tres o cuatro minutos, de modo que la clara cuaja pero la yema queda líquida.

- Gazpacho | El gazpacho es una sopa fría andaluza elaborada con tomate, pimiento, pepino, ajo, aceite de oliva, vinagre y pan, que se tritura y se sirve muy fría en verano.
- Salmorejo | El salmorejo cordobés es una crema fría más espesa que el gazpacho, hecha sobre todo con tomate, pan, ajo y aceite, que se sirve con huevo duro y jamón.

- Flamenco | El flamenco es un arte andaluz que combina el cante, el toque de la guitarra y el baile. En 2010 la UNESCO lo declaró Patrimonio Cultural Inmaterial de la Humanidad.
- Olivo | El olivo es un árbol de hoja perenne que puede vivir cientos de años. España es el mayor productor de aceite de oliva del mundo.
"""

TEXT["de"] = """
Q Wie hoch ist die Zugspitze?
2 Zugspitze | Die Zugspitze im Wettersteingebirge ist mit 2962 Metern der höchste Berg Deutschlands. Über den Gipfel verläuft die Grenze zwischen Deutschland und Österreich.
0 Watzmann | Der Watzmann in den Berchtesgadener Alpen erreicht an seiner Mittelspitze eine Höhe von 2713 Metern und ist für seine steile Ostwand bekannt.

Q Wann fiel die Berliner Mauer?
2 Berliner Mauer | Die Berliner Mauer fiel in der Nacht vom 9. auf den 10. November 1989, nachdem die DDR-Führung überraschend die Öffnung der Grenzübergänge verkündet hatte.
- Deutsche Wiedervereinigung | Die Wiedervereinigung Deutschlands wurde am 3. Oktober 1990 vollzogen; seitdem ist dieser Tag ein gesetzlicher Feiertag.

Q Was braucht man für einen Kaiserschmarrn?
2 Kaiserschmarrn | Für einen Kaiserschmarrn verrührt man Mehl, Milch, Eier, etwas Zucker und eine Prise Salz zu einem dicken Teig, backt ihn in Butter in der Pfanne und zerreißt ihn dann mit zwei Gabeln in Stücke. Dazu passen Puderzucker und Zwetschgenröster.
- Pfannkuchen | Pfannkuchen werden aus einem dünnen Teig aus Mehl, Milch und Eiern gebacken und im Ganzen serviert, oft mit Marmelade oder Apfelmus.

Q Wie funktioniert ein Elektromotor?
2 Elektromotor | Ein Elektromotor wandelt elektrische Energie in Bewegung um. Strom fließt durch Spulen und erzeugt ein Magnetfeld, das mit einem zweiten Magnetfeld wechselwirkt; die dabei entstehenden Kräfte versetzen den Rotor in Drehung.
1 Generator | Ein Generator arbeitet nach demselben Prinzip wie ein Elektromotor, nur umgekehrt: Er wandelt eine Drehbewegung in elektrischen Strom um.

Q Wer komponierte die Sinfonie mit der Ode an die Freude?
2 9. Sinfonie (Beethoven) | Ludwig van Beethoven vollendete seine 9. Sinfonie in d-Moll im Jahr 1824. Im letzten Satz vertonte er Friedrich Schillers Gedicht „An die Freude“ für Solisten, Chor und Orchester.
0 Friedrich Schiller | Friedrich Schiller schrieb das Gedicht „An die Freude“ im Jahr 1785. Er war Dichter, Dramatiker und Historiker und lebte zuletzt in Weimar.

Q Wie viele Bundesländer hat Deutschland?
2 Land (Deutschland) | Die Bundesrepublik Deutschland besteht aus 16 Ländern, darunter die drei Stadtstaaten Berlin, Hamburg und Bremen.
- Bundesländer Österreichs | Österreich ist ein Bundesstaat mit neun Bundesländern; das flächenmäßig größte davon ist Niederösterreich.

Q Warum ist Meerwasser salzig?
2 Meerwasser | Meerwasser ist salzig, weil Flüsse über Jahrmillionen gelöste Mineralien aus Gesteinen ins Meer tragen. Wenn das Wasser verdunstet, bleiben die Salze zurück, vor allem Natriumchlorid.
- Süßwasser | Süßwasser aus Seen und Flüssen enthält weniger als ein Gramm gelöster Salze pro Liter und eignet sich deshalb als Trinkwasser.

Q Wie lang ist der Rhein?
2 Rhein | Der Rhein ist rund 1230 Kilometer lang. Er entspringt in den Schweizer Alpen, durchfließt den Bodensee und mündet in den Niederlanden in die Nordsee.
0 Donau | Die Donau ist mit etwa 2850 Kilometern der zweitlängste Fluss Europas und fließt vom Schwarzwald bis zum Schwarzen Meer.

Q Wie viele Spieler hat eine Handballmannschaft auf dem Feld?
2 Handball | Beim Hallenhandball stehen pro Mannschaft sieben Spieler gleichzeitig auf dem Feld: sechs Feldspieler und ein Torwart.
- Beachhandball | Im Beachhandball spielen pro Team nur vier Spieler auf dem Sandfeld, drei Feldspieler und ein Torwart.

- Schwarzwälder Kirschtorte | Die Schwarzwälder Kirschtorte besteht aus Schokoladenbiskuit, Sahne und Sauerkirschen und wird mit Kirschwasser verfeinert.
- Zugspitze | Auf die Zugspitze führen drei Seilbahnen und die Bayerische Zugspitzbahn, eine Zahnradbahn, die von Garmisch-Partenkirchen bis zum Zugspitzplatt fährt.
- Elbe | Die Elbe entspringt im Riesengebirge in Tschechien, ist rund 1090 Kilometer lang und mündet bei Cuxhaven in die Nordsee.
- Weißwurst | Die Münchner Weißwurst wird aus Kalbfleisch und Schweinespeck hergestellt und traditionell vor dem Mittagsläuten mit süßem Senf und Brezen gegessen.
- Autobahn | Das deutsche Autobahnnetz ist rund 13.000 Kilometer lang. Auf vielen Abschnitten gibt es kein allgemeines Tempolimit, sondern nur eine Richtgeschwindigkeit von 130 km/h.
"""

TEXT["ru"] = """
Q Какова глубина озера Байкал?
2 Байкал | Байкал — самое глубокое озеро на Земле: его наибольшая глубина составляет 1642 метра. Озеро находится в Восточной Сибири и хранит около пятой части мировых запасов пресной озёрной воды.
0 Ладожское озеро | Ладожское озеро — самое большое пресноводное озеро Европы; его площадь составляет около 18 тысяч квадратных километров.

Q Кто написал роман «Война и мир»?
2 Война и мир | Роман-эпопея «Война и мир» написан Львом Николаевичем Толстым и издавался в 1865–1869 годах. В нём описаны события эпохи войн против Наполеона.
- Анна Каренина | «Анна Каренина» — роман Льва Толстого о трагической любви замужней женщины, опубликованный в 1870-х годах.

Q Как приготовить борщ?
2 Борщ | Для борща варят мясной бульон, затем добавляют нарезанную свёклу, капусту, картофель, морковь и лук. Свёклу часто тушат отдельно с томатом и каплей уксуса, чтобы сохранить её цвет. Подают борщ со сметаной.
- Щи | Щи — русский суп из свежей или квашеной капусты; в отличие от борща, свёклу в него не кладут.

Q Когда был запущен первый искусственный спутник Земли?
2 Спутник-1 | Первый искусственный спутник Земли был запущен в Советском Союзе 4 октября 1957 года с космодрома Байконур.
0 Восток-1 | 12 апреля 1961 года Юрий Гагарин на корабле «Восток-1» совершил первый в истории полёт человека в космос.

Q Почему лёд на реке образуется сверху, а не на дне?
2 Аномалия плотности воды | Вода имеет наибольшую плотность при температуре около 4 °C. Более холодная вода легче, поэтому она поднимается вверх и замерзает у поверхности, а лёд, будучи легче воды, плавает и защищает глубину от промерзания.
1 Лёд | Плотность льда примерно на девять процентов меньше плотности жидкой воды, поэтому лёд держится на поверхности.

Q Сколько часовых поясов в России?
2 Время в России | На территории России действует 11 часовых поясов — от калининградского времени (UTC+2) до камчатского (UTC+12).
- Транссибирская магистраль | Транссибирская магистраль длиной более 9000 километров соединяет Москву с Владивостоком и пересекает несколько часовых поясов.

Q Кто создал периодическую систему химических элементов?
2 Периодическая система | Периодический закон химических элементов открыл Дмитрий Иванович Менделеев в 1869 году. В своей таблице он оставил пустые клетки для ещё не открытых элементов.
- Ломоносов | Михаил Васильевич Ломоносов — учёный-естествоиспытатель XVIII века, химик и физик, по инициативе которого в 1755 году был основан Московский университет.

Q Какова длина Волги?
2 Волга | Волга — самая длинная река Европы: её длина составляет 3530 километров. Она впадает в Каспийское море.
0 Дон | Дон протекает по югу европейской части России; его длина около 1870 километров, и впадает он в Азовское море.

Q Сколько игроков хоккейной команды находится на льду?
2 Хоккей с шайбой | В хоккее с шайбой каждая команда одновременно выпускает на лёд шесть игроков: пять полевых игроков и вратаря.
- Хоккей с мячом | В хоккее с мячом, или бенди, на поле играют по одиннадцать человек в каждой команде, как в футболе.

- Матрёшка | Матрёшка — русская деревянная игрушка в виде расписной куклы, внутри которой находятся похожие куклы меньшего размера.
- Байкал | Из Байкала вытекает только одна река — Ангара, тогда как впадают в озеро более трёхсот рек и ручьёв.
- Спутник-1 | Первый спутник весил 83,6 килограмма и передавал радиосигналы, которые могли принимать радиолюбители по всему миру.
- Пельмени | Пельмени — блюдо из тонкого пресного теста с начинкой из рубленого мяса; их варят в подсоленной воде и подают со сметаной.
- Эрмитаж | Государственный Эрмитаж в Санкт-Петербурге — один из крупнейших художественных музеев мира; его главное здание — Зимний дворец.
"""

TEXT["ar"] = """
Q ما هي عاصمة المغرب؟
2 الرباط | الرباط هي عاصمة المملكة المغربية، وتقع على ساحل المحيط الأطلسي عند مصب نهر أبي رقراق، وفيها صومعة حسان وضريح محمد الخامس.
0 الدار البيضاء | الدار البيضاء هي أكبر مدن المغرب وأهم موانئه الاقتصادية، وفيها مسجد الحسن الثاني المطل على المحيط.

Q من بنى الهرم الأكبر في الجيزة؟
2 الهرم الأكبر | بُني الهرم الأكبر في الجيزة للملك خوفو من الأسرة الرابعة نحو عام 2560 قبل الميلاد، وهو أكبر أهرامات مصر وأقدم عجائب الدنيا السبع.
- أبو الهول | تمثال أبي الهول في الجيزة منحوت في الصخر على هيئة أسد برأس إنسان، ويقع قرب أهرامات الجيزة.

Q كيف تُحضَّر القهوة العربية؟
2 القهوة العربية | تُحمَّص حبوب البن تحميصاً خفيفاً ثم تُطحن وتُغلى في الماء في دلة، ويضاف إليها الهيل وأحياناً الزعفران، وتُقدَّم في فناجين صغيرة مع التمر.
1 الهيل | الهيل من أشهر التوابل في المطبخ العربي، ويُضاف إلى القهوة ليمنحها رائحتها المميزة.
- القهوة التركية | تُحضَّر القهوة التركية من بنٍّ مطحون طحناً ناعماً جداً يُغلى مع الماء والسكر في ركوة، ولا يُصفّى قبل التقديم.

Q لماذا تحدث الزلازل؟
2 زلزال | تحدث الزلازل عندما تتحرك الصفائح التكتونية في القشرة الأرضية وتتراكم الضغوط على الصدوع حتى تنكسر الصخور فجأة، فتنطلق طاقة على شكل موجات زلزالية.
- بركان | البركان فتحة في القشرة الأرضية تخرج منها الصهارة والغازات والرماد من باطن الأرض.

Q من هو مؤلف كتاب المقدمة؟
2 مقدمة ابن خلدون | ألّف عبد الرحمن بن خلدون كتاب المقدمة عام 1377م، وتناول فيه العمران والاجتماع البشري، ويُعدّ من أوائل الكتب في علم الاجتماع.
- ابن بطوطة | ابن بطوطة رحالة مغربي من طنجة، جاب العالم الإسلامي في القرن الرابع عشر، ودُوّنت رحلته في كتاب "تحفة النظار في غرائب الأمصار وعجائب الأسفار".

Q ما طول نهر النيل؟
2 نهر النيل | يبلغ طول نهر النيل نحو 6650 كيلومتراً، ويُعدّ من أطول أنهار العالم، ويصبّ في البحر الأبيض المتوسط.
0 نهر الفرات | ينبع نهر الفرات من جبال تركيا ويجري في سوريا والعراق، ويلتقي بنهر دجلة ليشكّلا شط العرب.

Q كم عدد لاعبي فريق كرة السلة في الملعب؟
2 كرة السلة | يلعب كل فريق في كرة السلة بخمسة لاعبين داخل الملعب في وقت واحد، ويُسمح بالتبديل أثناء المباراة.
- الكرة الطائرة | في الكرة الطائرة يتكوّن كل فريق من ستة لاعبين داخل الملعب، وتفصل بين الفريقين شبكة عالية.

Q ما هي الطاقة الشمسية؟
2 طاقة شمسية | الطاقة الشمسية هي الطاقة المستمدة من ضوء الشمس وحرارتها، وتُحوَّل إلى كهرباء بواسطة الألواح الكهروضوئية أو تُستخدم لتسخين المياه.
- طاقة الرياح | تُولَّد طاقة الرياح بواسطة توربينات تُدير الرياحُ شفراتها فتُنتج الكهرباء.

Q متى تأسست جامعة القرويين؟
2 جامعة القرويين | تأسست جامعة القرويين في مدينة فاس عام 859م على يد فاطمة الفهرية، وتُعدّ من أقدم الجامعات في العالم التي ما زالت تعمل.
0 الجامع الأزهر | بُني الجامع الأزهر في القاهرة عام 970م في عهد الدولة الفاطمية، وصار لاحقاً من أشهر جامعات العالم الإسلامي.

- الخط العربي | الخط العربي فن تجميل الكتابة بالحروف العربية، ومن أشهر أنواعه خط النسخ وخط الثلث والخط الكوفي.
- الرباط | تأسست مدينة الرباط بشكلها الحالي في عهد الموحدين في القرن الثاني عشر الميلادي، وبدأ بناء صومعة حسان في عهد يعقوب المنصور.
- الكسكس | الكسكس طبق مغاربي يُحضَّر من السميد المفتول ويُطهى على البخار فوق مرق اللحم والخضار.
- نخلة التمر | تُزرع نخلة التمر في المناطق الحارة الجافة، وتحتاج إلى الماء عند جذورها وإلى الشمس الحارقة فوق رأسها.
"""

TEXT["hi"] = """
Q ताजमहल किसने बनवाया था?
2 ताजमहल | ताजमहल आगरा में यमुना नदी के किनारे स्थित एक मकबरा है, जिसे मुग़ल बादशाह शाहजहाँ ने अपनी पत्नी मुमताज़ महल की याद में बनवाया था। इसका निर्माण लगभग 1632 में शुरू हुआ।
0 लाल किला | दिल्ली का लाल किला भी मुग़ल बादशाह शाहजहाँ ने बनवाया था। यह लाल बलुआ पत्थर से बना है और हर साल स्वतंत्रता दिवस पर प्रधानमंत्री यहाँ झंडा फहराते हैं।

Q गंगा नदी कहाँ से निकलती है?
2 गंगा | गंगा नदी उत्तराखंड में गंगोत्री हिमनद के गोमुख से भागीरथी के रूप में निकलती है और देवप्रयाग में अलकनंदा से मिलकर गंगा कहलाती है।
- यमुना | यमुना नदी यमुनोत्री हिमनद से निकलती है और प्रयागराज में गंगा से मिल जाती है।

Q दाल मखनी कैसे बनाते हैं?
2 दाल मखनी | दाल मखनी बनाने के लिए साबुत उड़द और राजमा को रात भर भिगोकर उबाला जाता है, फिर मक्खन, टमाटर, अदरक-लहसुन और मसालों के साथ धीमी आँच पर देर तक पकाया जाता है। अंत में इसमें क्रीम मिलाई जाती है।
- दाल तड़का | दाल तड़का अरहर या मूँग की दाल से बनती है, जिस पर घी में जीरा, लहसुन और लाल मिर्च का तड़का लगाया जाता है।

Q क्रिकेट की एक टीम में कितने खिलाड़ी होते हैं?
2 क्रिकेट | क्रिकेट में प्रत्येक टीम में ग्यारह खिलाड़ी होते हैं। बल्लेबाज़ी करने वाली टीम के दो बल्लेबाज़ एक साथ मैदान पर रहते हैं।
0 कबड्डी | कबड्डी में हर टीम के सात खिलाड़ी एक समय में मैदान पर होते हैं और रेडर को साँस रोककर विरोधी पाले में जाना होता है।

Q भारत का पहला उपग्रह कौन सा था?
2 आर्यभट (उपग्रह) | आर्यभट भारत का पहला कृत्रिम उपग्रह था, जिसे 19 अप्रैल 1975 को सोवियत संघ के एक रॉकेट से प्रक्षेपित किया गया।
- चंद्रयान-1 | चंद्रयान-1 भारत का पहला चंद्र मिशन था, जिसे 2008 में श्रीहरिकोटा से प्रक्षेपित किया गया।

Q मानसून क्या होता है?
2 मानसून | मानसून मौसमी हवाएँ हैं जो गर्मियों में समुद्र से ज़मीन की ओर बहती हैं और भारत में जून से सितंबर तक अधिकांश वर्षा लाती हैं।
1 भारत की जलवायु | भारत में अधिकतर खेती वर्षा पर निर्भर है, इसलिए दक्षिण-पश्चिम मानसून के देर से आने पर फ़सलों को नुकसान होता है।

Q भारत के राष्ट्रगान की रचना किसने की?
2 जन गण मन | भारत का राष्ट्रगान "जन गण मन" रवीन्द्रनाथ ठाकुर ने मूल रूप से बांग्ला में लिखा था। इसे 24 जनवरी 1950 को राष्ट्रगान के रूप में अपनाया गया।
0 वन्दे मातरम् | "वन्दे मातरम्" भारत का राष्ट्रीय गीत है, जिसकी रचना बंकिमचन्द्र चट्टोपाध्याय ने की थी।

Q सूर्य नमस्कार में कितने चरण होते हैं?
2 सूर्य नमस्कार | सूर्य नमस्कार बारह चरणों का एक क्रम है, जिसमें प्रणामासन, हस्त उत्तानासन और भुजंगासन जैसी मुद्राएँ शामिल हैं।
- प्राणायाम | प्राणायाम योग में श्वास को नियंत्रित करने का अभ्यास है, जैसे अनुलोम-विलोम और कपालभाति।

Q हिमालय की सबसे ऊँची चोटी कौन सी है?
2 माउंट एवरेस्ट | माउंट एवरेस्ट हिमालय और पूरी दुनिया की सबसे ऊँची चोटी है, जिसकी ऊँचाई लगभग 8849 मीटर है। यह नेपाल और चीन की सीमा पर स्थित है।
0 कंचनजंघा | कंचनजंघा दुनिया की तीसरी सबसे ऊँची चोटी है और भारत में स्थित सबसे ऊँचा पर्वत है।

- दीवाली | दीवाली रोशनी का त्योहार है, जिसमें लोग घरों में दीये जलाते हैं, रंगोली बनाते हैं और मिठाइयाँ बाँटते हैं।
- ताजमहल | ताजमहल सफ़ेद संगमरमर से बना है और इसे 1983 में यूनेस्को विश्व धरोहर स्थल घोषित किया गया।
- टेस्ट क्रिकेट | टेस्ट क्रिकेट का एक मैच अधिकतम पाँच दिन तक चलता है और हर टीम दो पारियाँ खेलती है।
- बिरयानी | बिरयानी चावल, मांस या सब्ज़ियों और मसालों से बनने वाला व्यंजन है; हैदराबादी और लखनवी बिरयानी विशेष रूप से प्रसिद्ध हैं।
- सितार | सितार एक लंबी गर्दन वाला तार वाद्य है, जिसे पंडित रवि शंकर ने दुनिया भर में लोकप्रिय बनाया।
"""

TEXT["zh"] = """
Q 长城有多长？
2 长城 | 根据2012年公布的测量结果，历代长城的总长度约为21196千米。现存的大部分城墙是明朝修建的。
0 京杭大运河 | 京杭大运河北起北京，南到杭州，全长约1794千米，是世界上最长的人工运河。

Q 饺子怎么包？
2 饺子 | 包饺子时，先把面粉和水揉成面团，擀成圆形的饺子皮，再放上猪肉白菜等馅料，对折后捏紧边缘。饺子可以水煮，也可以煎。
- 包子 | 包子用发酵的面团包馅，上锅蒸熟，皮比饺子厚而松软。

Q 为什么月亮有圆缺变化？
2 月相 | 月亮本身不发光，它反射太阳光。月球绕地球公转时，我们看到被照亮部分的比例不断变化，于是出现新月、上弦月、满月和下弦月等月相，一个周期约29.5天。
- 月食 | 当地球运行到太阳和月球之间、地球的影子落在月球上时，就会发生月食。

Q 谁发明了造纸术？
2 造纸术 | 东汉时期的蔡伦在公元105年前后改进了造纸术，用树皮、麻头、破布和旧渔网造纸，使纸张变得便宜易得。
0 活字印刷术 | 北宋时期的毕昇发明了泥活字印刷术，比欧洲的活字印刷早约四百年。

Q 乒乓球比赛一局打到几分？
2 乒乓球 | 现行乒乓球规则规定，一局比赛先得11分的一方获胜；如果打到10平，则需领先2分才能赢得该局。
- 羽毛球 | 羽毛球比赛采用每球得分制，每局先得21分的一方获胜。

Q 珠穆朗玛峰有多高？
2 珠穆朗玛峰 | 2020年中国和尼泊尔共同宣布，珠穆朗玛峰的最新高程为8848.86米。
- 乔戈里峰 | 乔戈里峰，又称K2，海拔8611米，是世界第二高峰。

Q 什么是人工智能？
2 人工智能 | 人工智能是研究如何让计算机完成通常需要人类智能的任务的学科，例如识别图像、理解语言和下棋。
1 机器学习 | 机器学习是人工智能的一个分支，计算机通过数据自动改进，而不是依靠人写好的规则。

Q 长江发源于哪里？
2 长江 | 长江发源于青藏高原唐古拉山脉的各拉丹冬峰，全长约6300千米，是中国第一长河，最后在上海注入东海。
0 黄河 | 黄河发源于青海省巴颜喀拉山脉，全长约5464千米，是中国第二长河。

Q 绿茶和红茶有什么区别？
2 绿茶 | 绿茶是不经过发酵的茶，采摘后通过杀青保持叶子的绿色；红茶则经过充分发酵，茶汤呈红色，味道更醇厚。
- 乌龙茶 | 乌龙茶属于半发酵茶，著名品种有铁观音和大红袍。

- 大熊猫 | 大熊猫主要生活在中国四川、陕西和甘肃的山区，以竹子为主要食物。
- 长城 | 八达岭长城位于北京市延庆区，是明长城中保存最好、最具代表性的一段，每年吸引大量游客。
- 珠穆朗玛峰 | 1960年，中国登山队首次从北坡登上珠穆朗玛峰顶峰。
- 围棋 | 围棋起源于中国，棋盘由纵横各十九条线组成，双方轮流落子，以围地多少决定胜负。
- 京剧 | 京剧是中国的传统戏曲之一，形成于清代的北京，角色分为生、旦、净、丑四大行当。
"""

TEXT["ja"] = """
Q 富士山の高さは何メートルですか？
2 富士山 | 富士山は静岡県と山梨県にまたがる活火山で、標高は3776メートル、日本で最も高い山です。
0 北岳 | 北岳は山梨県の南アルプスにある山で、標高3193メートル、日本で二番目に高い山です。

Q 味噌汁はどうやって作りますか？
2 味噌汁 | 味噌汁は、昆布やかつお節でとっただしに豆腐やわかめなどの具を入れて温め、火を止める直前に味噌を溶き入れて作ります。味噌を入れた後は沸騰させないのがこつです。
- すまし汁 | すまし汁は味噌を使わず、だしに薄口醤油と塩で味をつけた透明な汁物です。

Q 新幹線が最初に開業したのはいつですか？
2 東海道新幹線 | 東海道新幹線は1964年10月1日、東京オリンピックの開幕直前に東京と新大阪の間で開業しました。
- 北陸新幹線 | 北陸新幹線は東京から長野、金沢を経て敦賀まで延びる路線で、2024年に敦賀まで延伸されました。

Q 地震のマグニチュードと震度の違いは何ですか？
2 マグニチュード | マグニチュードは地震そのものの規模、つまり放出されたエネルギーの大きさを表します。一方、震度はある地点での揺れの強さを表すので、同じ地震でも場所によって異なります。
1 震度 | 気象庁の震度階級は0から7までの10段階で、震度5と6にはそれぞれ弱と強があります。

Q 源氏物語の作者は誰ですか？
2 源氏物語 | 『源氏物語』は平安時代中期に紫式部が書いた長編物語で、光源氏の生涯と恋愛を描いています。
0 枕草子 | 『枕草子』は平安時代に清少納言が書いた随筆で、宮廷生活の様子が生き生きと描かれています。

Q 相撲の横綱とは何ですか？
2 横綱 | 横綱は大相撲の力士の最高位です。大関として優れた成績を続け、品格も認められた力士だけが昇進できます。
- 大関 | 大関は横綱に次ぐ地位で、関脇や小結とともに三役と呼ばれます。

Q 日本で一番長い川は何ですか？
2 信濃川 | 信濃川は長野県と新潟県を流れる日本で最も長い川で、全長は367キロメートルです。長野県内では千曲川と呼ばれます。
0 利根川 | 利根川は関東地方を流れる川で、流域面積は日本最大です。

Q 梅雨はいつ始まりますか？
2 梅雨 | 梅雨は初夏に雨やくもりの日が続く時期で、本州では例年6月上旬から7月中旬ごろまで続きます。沖縄ではそれより約1か月早く始まります。
- 台風 | 台風は北西太平洋で発達した熱帯低気圧で、夏から秋にかけて日本に強い風と大雨をもたらします。

Q 将棋の駒は何種類ありますか？
2 将棋 | 将棋の駒は王将、飛車、角行、金将、銀将、桂馬、香車、歩兵の8種類で、一人20枚ずつ使います。取った相手の駒を自分の駒として使えるのが大きな特徴です。
- 囲碁 | 囲碁は黒と白の石を交互に盤上に置き、囲んだ陣地の広さを競うゲームです。

- 盆栽 | 盆栽は、鉢に植えた樹木を剪定や針金かけで形づくり、自然の風景を小さく表現する日本の伝統的な趣味です。
- 富士山 | 富士山は2013年に「富士山—信仰の対象と芸術の源泉」として世界文化遺産に登録されました。
- 新幹線 | 新幹線は専用の線路を走る高速鉄道で、開業以来、乗客が死亡する列車事故を起こしていないことで知られています。
- 寿司 | 握り寿司は、酢飯を手で握り、その上に魚介などのネタをのせた料理で、江戸時代に広まりました。
- 折り紙 | 折り紙は一枚の紙を折って鶴や花などの形を作る遊びで、千羽鶴は平和の祈りの象徴にもなっています。
"""

TEXT["ko"] = """
Q 한글은 누가 만들었나요?
2 한글 | 한글은 조선의 세종대왕이 창제하여 1446년에 훈민정음이라는 이름으로 반포한 문자입니다.
- 한글날 | 한글날은 세종대왕의 한글 창제와 반포를 기념하는 날로, 대한민국에서는 매년 10월 9일이며 공휴일입니다.

Q 김치는 어떻게 담그나요?
2 배추김치 | 배추김치를 담글 때는 배추를 소금에 절인 뒤 씻어 물기를 빼고, 고춧가루, 마늘, 생강, 젓갈, 무채 등을 섞은 양념을 잎 사이사이에 고루 바릅니다. 그 후 항아리나 통에 담아 발효시킵니다.
- 깍두기 | 깍두기는 무를 네모나게 썰어 고춧가루 양념에 버무려 만든 김치입니다.

Q 한라산의 높이는 얼마인가요?
2 한라산 | 한라산은 제주도 중앙에 있는 화산으로, 높이는 1947미터이며 남한에서 가장 높은 산입니다.
0 지리산 | 지리산은 높이 1915미터로 한반도 남부 내륙에서 가장 높은 산이며, 최고봉은 천왕봉입니다.

Q 태권도는 언제 올림픽 정식 종목이 되었나요?
2 태권도 | 태권도는 2000년 시드니 올림픽에서 처음으로 정식 종목으로 채택되었습니다. 1988년 서울 올림픽에서는 시범 종목이었습니다.
- 씨름 | 씨름은 두 선수가 샅바를 잡고 상대를 넘어뜨리는 한국의 전통 운동 경기입니다.

Q 반도체는 무엇인가요?
2 반도체 | 반도체는 전기가 잘 통하는 도체와 통하지 않는 부도체의 중간 성질을 가진 물질로, 실리콘이 대표적입니다. 불순물을 넣어 전기 전도도를 조절할 수 있어 트랜지스터와 메모리 칩을 만드는 데 쓰입니다.
1 트랜지스터 | 트랜지스터는 반도체로 만든 소자로, 전류를 증폭하거나 켜고 끄는 스위치 역할을 합니다.

Q 조선은 언제 건국되었나요?
2 조선 | 조선은 1392년 이성계가 고려를 무너뜨리고 세운 왕조로, 얼마 뒤 수도를 한양으로 옮겼습니다.
0 고려 | 고려는 918년 왕건이 세운 왕조로, 수도는 개경이었으며 1392년까지 이어졌습니다.

Q 한강은 어디에서 시작되나요?
2 한강 | 한강은 강원도 태백시의 검룡소에서 발원하는 남한강과 북쪽에서 내려오는 북한강이 양평 두물머리에서 만나 이루어지며, 서울을 지나 서해로 흐릅니다.
- 낙동강 | 낙동강은 남한에서 가장 긴 강으로, 부산 근처에서 남해로 흘러듭니다.

Q 비빔밥에는 무엇이 들어가나요?
2 비빔밥 | 비빔밥은 밥 위에 나물, 고기, 달걀 등을 올리고 고추장을 넣어 비벼 먹는 음식입니다. 전주비빔밥이 특히 유명합니다.
- 김밥 | 김밥은 밥과 여러 재료를 김에 싸서 말아 썰어 먹는 음식입니다.

Q 윤년은 왜 있나요?
2 윤년 | 지구가 태양을 한 바퀴 도는 데 약 365.25일이 걸리기 때문에, 4년마다 2월에 하루를 더해 달력과 계절을 맞춥니다. 이렇게 366일인 해를 윤년이라고 합니다.
- 음력 | 음력은 달의 모양이 변하는 주기를 바탕으로 만든 달력으로, 한 달은 29일 또는 30일입니다.

- 한옥 | 한옥은 한국의 전통 가옥으로, 온돌로 방을 데우고 대청마루로 여름의 더위를 식힙니다.
- 한라산 | 한라산 정상에는 백록담이라는 화구호가 있으며, 한라산 국립공원은 유네스코 세계자연유산에 포함되어 있습니다.
- 세종대왕 | 세종대왕은 조선의 제4대 왕으로, 측우기와 해시계 같은 과학 기구의 제작을 지원하였습니다.
- 떡볶이 | 떡볶이는 가래떡을 고추장 양념에 어묵, 파 등과 함께 볶거나 끓여 만든 음식입니다.
- 판소리 | 판소리는 한 명의 소리꾼이 고수의 북 장단에 맞추어 긴 이야기를 노래와 말로 풀어내는 공연 예술입니다.
"""

TEXT["th"] = """
Q กรุงเทพมหานครเป็นเมืองหลวงของไทยตั้งแต่เมื่อใด
2 กรุงเทพมหานคร | กรุงเทพมหานครเป็นเมืองหลวงของประเทศไทยตั้งแต่ พ.ศ. 2325 เมื่อพระบาทสมเด็จพระพุทธยอดฟ้าจุฬาโลกมหาราชทรงย้ายราชธานีมาจากกรุงธนบุรี
0 กรุงศรีอยุธยา | กรุงศรีอยุธยาเป็นราชธานีของไทยนานกว่า 400 ปี ก่อนจะเสียกรุงใน พ.ศ. 2310

Q ต้มยำกุ้งใส่อะไรบ้าง
2 ต้มยำกุ้ง | ต้มยำกุ้งเป็นแกงรสเปรี้ยวเผ็ด ใส่กุ้ง ตะไคร้ ข่า ใบมะกรูด พริก น้ำปลา และน้ำมะนาว บางสูตรใส่เห็ดฟางและน้ำพริกเผาด้วย
- ต้มข่าไก่ | ต้มข่าไก่เป็นแกงที่ใช้ไก่และข่า ปรุงด้วยกะทิ จึงมีรสชาติกลมกล่อมและมันกว่าต้มยำ

Q มวยไทยมีกี่ยก
2 มวยไทย | การแข่งขันมวยไทยอาชีพตามแบบดั้งเดิมมี 5 ยก ยกละ 3 นาที และพักระหว่างยก 2 นาที
- กระบี่กระบอง | กระบี่กระบองเป็นศิลปะการต่อสู้ของไทยที่ใช้อาวุธ เช่น ดาบ ไม้พลอง และโล่

Q แม่น้ำเจ้าพระยาเกิดจากแม่น้ำสายใดบ้าง
2 แม่น้ำเจ้าพระยา | แม่น้ำเจ้าพระยาเกิดจากการบรรจบกันของแม่น้ำปิงและแม่น้ำน่านที่จังหวัดนครสวรรค์ แล้วไหลผ่านกรุงเทพมหานครลงสู่อ่าวไทย
1 แม่น้ำปิง | แม่น้ำปิงไหลผ่านจังหวัดเชียงใหม่ และเมื่อรับน้ำจากแม่น้ำวังแล้วจึงไหลไปบรรจบกับแม่น้ำน่าน

Q ดอยอินทนนท์สูงเท่าไร
2 ดอยอินทนนท์ | ดอยอินทนนท์ในจังหวัดเชียงใหม่เป็นยอดเขาที่สูงที่สุดในประเทศไทย สูงจากระดับน้ำทะเลประมาณ 2,565 เมตร
0 ดอยสุเทพ | ดอยสุเทพอยู่ทางทิศตะวันตกของเมืองเชียงใหม่ บนดอยมีวัดพระธาตุดอยสุเทพที่มีชื่อเสียง

Q สงกรานต์คืออะไร
2 สงกรานต์ | สงกรานต์คือเทศกาลขึ้นปีใหม่ตามประเพณีไทย ตรงกับวันที่ 13 ถึง 15 เมษายน ผู้คนรดน้ำขอพรผู้ใหญ่และเล่นสาดน้ำกัน
- ลอยกระทง | ลอยกระทงจัดขึ้นในคืนวันเพ็ญเดือนสิบสอง ผู้คนนำกระทงไปลอยในแม่น้ำเพื่อขอขมาพระแม่คงคา

Q ทุเรียนเป็นผลไม้แบบไหน
2 ทุเรียน | ทุเรียนเป็นผลไม้เมืองร้อนที่มีเปลือกแข็งเป็นหนามและกลิ่นแรง ได้รับสมญาว่าราชาแห่งผลไม้ พันธุ์ที่มีชื่อเสียงในไทยคือหมอนทอง
- มังคุด | มังคุดมีเปลือกสีม่วงเข้มและเนื้อในสีขาวรสหวานอมเปรี้ยว ได้รับสมญาว่าราชินีแห่งผลไม้

Q รถไฟฟ้าบีทีเอสเปิดให้บริการเมื่อใด
2 รถไฟฟ้าบีทีเอส | รถไฟฟ้าบีทีเอสเปิดให้บริการครั้งแรกเมื่อวันที่ 5 ธันวาคม พ.ศ. 2542 นับเป็นระบบรถไฟฟ้าขนส่งมวลชนสายแรกของกรุงเทพมหานคร
0 รถไฟฟ้ามหานคร | รถไฟฟ้ามหานครสายเฉลิมรัชมงคล หรือรถไฟฟ้าใต้ดินสายแรกของกรุงเทพมหานคร เปิดให้บริการใน พ.ศ. 2547

Q ทำไมพืชต้องการแสงแดด
2 การสังเคราะห์ด้วยแสง | พืชต้องใช้แสงแดดในการสังเคราะห์ด้วยแสง โดยคลอโรฟิลล์ในใบจะดูดกลืนพลังงานแสงเพื่อเปลี่ยนคาร์บอนไดออกไซด์และน้ำเป็นน้ำตาล และปล่อยออกซิเจนออกมา
- การคายน้ำ | การคายน้ำคือการที่พืชสูญเสียน้ำในรูปไอน้ำผ่านปากใบ ช่วยให้น้ำและแร่ธาตุเคลื่อนจากรากขึ้นสู่ใบ

- ช้างไทย | ช้างเป็นสัตว์ประจำชาติของไทย และวันช้างไทยตรงกับวันที่ 13 มีนาคมของทุกปี ในอดีตช้างถูกใช้ในการทำศึกและลากซุง
- ดอยอินทนนท์ | อุทยานแห่งชาติดอยอินทนนท์มีน้ำตกหลายแห่ง เช่น น้ำตกแม่กลาง และน้ำตกวชิรธาร
- มวยไทย | นักมวยไทยจะร่ายรำไหว้ครูก่อนการแข่งขัน เพื่อแสดงความเคารพต่อครูบาอาจารย์
- ผัดไทย | ผัดไทยทำจากเส้นจันทน์ผัดกับไข่ เต้าหู้ กุ้งแห้ง ถั่วงอก และกุยช่าย ปรุงรสด้วยน้ำมะขามเปียก น้ำตาลปี๊บ และน้ำปลา
- ผ้าไหมไทย | ผ้าไหมไทยทอจากเส้นไหมที่ได้จากรังไหม มีลวดลายและสีสันสวยงาม ภาคอีสานเป็นแหล่งผลิตที่สำคัญ
"""

# Long articles about fictional places. Each section uses every sentence template once (shuffled) with the
# section number {i}, random numbers {a} {b} {c} {d} (ranges in SLOTS) and a word {w}; sections are added until
# the article reaches the instance's target length in XLM-R tokens. The answer sentence opens the first section
# past ANSWER_AT tokens. Instances of one kit share their vocabulary, so each is a hard distractor for the others' queries.
KITS: dict[str, dict] = {}

KITS["en"] = dict(
    title="{name} Railway",
    intro="The {name} Railway is a narrow-gauge line that climbs from the valley floor to a chain of upland "
          "villages. This article describes the line stop by stop, from the lowest station to the summit.",
    heading="Stop {i}", start=1,
    sentences=["Stop {i} on the {name} Railway lies at an altitude of {a} metres above sea level.",
               "Beyond stop {i} the track passes through {b} curves before it reaches the next platform.",
               "The platform at stop {i} is {b} metres long and has a small timber shelter.",
               "A footpath from stop {i} leads down to a farming hamlet of about {a} residents.",
               "During the summer timetable, {c} trains a day call at stop {i}.",
               "The station building at stop {i} is painted {w} and has a clock above its door."],
    words=["green", "cream", "dark red", "pale blue", "grey"],
    instances=[
        ("Harrowdale", 750, "The Harrowdale Railway was opened to passengers on 3 June 1898, after four years of "
         "construction.", "When was the Harrowdale Railway opened to passengers?"),
        ("Pennock Moor", 1500, "The Pennock Moor Railway was designed by the engineer Margaret Ellery, who also "
         "drew the plans for its stone viaducts.", "Who designed the Pennock Moor Railway?"),
        ("Callow Ridge", 8700, "Trains on the Callow Ridge Railway were hauled by steam locomotives until 1961, "
         "when the line switched to diesel railcars.", "When did the Callow Ridge Railway stop using steam "
         "locomotives?"),
    ])

KITS["es"] = dict(
    title="Molinos de {name}",
    intro="Los molinos de {name} forman un conjunto de molinos de viento situado en una meseta de secano. "
          "Este artículo describe cada molino por separado, siguiendo el camino que los une.",
    heading="Molino {i}", start=1,
    sentences=["El molino {i} de {name} se alza sobre un cerro de {a} metros de altitud.",
               "Las aspas del molino {i} miden {c} metros y giran con el viento del norte.",
               "Desde el molino {i} hasta el siguiente hay un camino de {b} minutos a pie.",
               "El molino {i} tiene la fachada encalada y una puerta pintada de {w}.",
               "Durante las fiestas del pueblo, el molino {i} recibe a unas {a} visitas.",
               "La torre del molino {i} tiene {c} ventanas pequeñas que miran al valle."],
    words=["azul", "verde", "rojo oscuro", "gris", "ocre"],
    instances=[
        ("Valdecerro", 750, "El primer molino de Valdecerro empezó a moler trigo en el año 1587, según un "
         "documento del archivo municipal.", "¿En qué año empezó a moler trigo el primer molino de Valdecerro?"),
        ("Almenara del Campo", 1500, "El último molinero de Almenara del Campo, Julián Ortega, dejó de moler en "
         "1958, cuando llegó al pueblo la harinera eléctrica.", "¿Cuándo dejó de funcionar el último molino de "
         "Almenara del Campo?"),
    ])

KITS["de"] = dict(
    title="Botanischer Garten {name}",
    intro="Der Botanische Garten {name} ist eine Gartenanlage mit Beeten, Gewächshäusern und einem kleinen "
          "Teich. Der folgende Artikel beschreibt die Anlage Beet für Beet.",
    heading="Beet {i}", start=1,
    sentences=["Im Beet {i} des Botanischen Gartens {name} wachsen {b} verschiedene Pflanzenarten.",
               "Der Kiesweg rund um Beet {i} ist {b} Meter lang.",
               "Im Herbst setzen die Gärtner an Beet {i} etwa {a} Blumenzwiebeln.",
               "Die Tafel an Beet {i}, die die Herkunft der Pflanzen erklärt, ist aus {w} gefertigt.",
               "In trockenen Wochen wird Beet {i} {c}-mal mit Regenwasser aus der Zisterne gegossen.",
               "Von der Bank neben Beet {i} aus sieht man {c} alte Bäume."],
    words=["Eichenholz", "Schiefer", "Messing", "Emaille", "Lärchenholz"],
    instances=[
        ("Lindenau", 750, "Der Botanische Garten Lindenau wurde 1823 von dem Apotheker Friedrich Haller als "
         "Heilpflanzengarten gegründet.", "Wann wurde der Botanische Garten Lindenau gegründet?"),
        ("Hohenbruck", 1500, "Das große Palmenhaus des Botanischen Gartens Hohenbruck wurde 1911 errichtet und "
         "ist 24 Meter hoch.", "Wie hoch ist das Palmenhaus im Botanischen Garten Hohenbruck?"),
        ("Falkenried", 6000, "Zum Rhododendronfest im Botanischen Garten Falkenried kommen jedes Jahr im Mai "
         "rund 40.000 Besucher.", "Wie viele Besucher kommen zum Rhododendronfest im Botanischen Garten "
         "Falkenried?"),
    ])

KITS["ru"] = dict(
    title="Метеостанция {name}",
    intro="Метеостанция {name} — небольшая станция наблюдений за погодой в таёжной долине. Ниже приведена "
          "летопись наблюдений по годам.",
    heading="{i} год", start=1921,
    sentences=["Сумма осадков на метеостанции {name} за {i} год составила {a} мм.",
               "Средняя температура января {i} года — минус {d} °C.",
               "Первый снег в {i} году выпал {d} {w}.",
               "Наибольшая высота снежного покрова в {i} году — {b} см.",
               "Число сильных гроз летом {i} года — {c}.",
               "Самый тёплый день {i} года пришёлся на {d} июля."],
    words=["сентября", "октября", "ноября"],
    instances=[
        ("Кедровая Падь", 750, "Метеостанция Кедровая Падь была открыта в 1920 году по решению губернского "
         "земельного отдела.", "Когда была открыта метеостанция Кедровая Падь?"),
        ("Верхний Ключ", 1500, "Самая низкая температура за всю историю метеостанции Верхний Ключ, минус 54,3 °C, "
         "была зарегистрирована 12 января 1935 года.", "Какая самая низкая температура была зарегистрирована на "
         "метеостанции Верхний Ключ?"),
        ("Студёный Яр", 3000, "В 1968 году на метеостанции Студёный Яр установили первый автоматический самописец "
         "ветра.", "Когда на метеостанции Студёный Яр появился автоматический самописец ветра?"),
    ])

KITS["ar"] = dict(
    title="درب {name}",
    intro="درب {name} طريق قوافل قديم يعبر الصحراء بين الواحات، وتنتشر على امتداده آبار ومحطات للاستراحة. "
          "يصف هذا المقال محطات الدرب واحدة تلو الأخرى.",
    heading="المحطة {i}", start=1,
    sentences=["يبلغ عمق البئر في المحطة {i} من درب {name} نحو {b} متراً.",
               "تبعد المحطة {i} عن المحطة السابقة مسيرة {c} ساعات على ظهور الإبل.",
               "حول بئر المحطة {i} بستان صغير يبلغ عدد نخيله نحو {a}.",
               "بُني حوض الماء في المحطة {i} من الحجر {w}.",
               "يمر بالمحطة {i} في موسم القوافل نحو {b} قافلة.",
               "ينصب المسافرون خيامهم قرب المحطة {i} على بعد {b} متراً من البئر."],
    words=["الجيري", "الرملي", "البازلتي"],
    instances=[
        ("الواحات السبع", 750, "حفر أول بئر على درب الواحات السبع التاجر سالم بن راشد في القرن الثاني عشر "
         "الميلادي.", "من حفر أول بئر على درب الواحات السبع؟"),
        ("النجوم", 1500, "سُمّي درب النجوم بهذا الاسم لأن القوافل كانت تسير فيه ليلاً مهتديةً بالنجوم هرباً من "
         "حرّ النهار.", "لماذا سُمّي درب النجوم بهذا الاسم؟"),
        ("الملح", 3000, "كانت القوافل على درب الملح تحمل ألواح الملح من المناجم في الشمال وتبادلها بالذهب "
         "والحبوب في الجنوب.", "ماذا كانت القوافل تحمل على درب الملح؟"),
    ])

KITS["hi"] = dict(
    title="{name} चाय बागान",
    intro="{name} चाय बागान पहाड़ी ढलानों पर फैला एक पुराना चाय बागान है। इस लेख में बागान के हर खंड का "
          "अलग-अलग वर्णन किया गया है।",
    heading="खंड {i}", start=1,
    sentences=["{name} चाय बागान का खंड {i} समुद्र तल से {a} मीटर की ऊँचाई पर स्थित है।",
               "खंड {i} में चाय की लगभग {a} झाड़ियाँ लगी हैं।",
               "खंड {i} से तोड़ी गई पत्तियाँ {c} किलोमीटर दूर कारख़ाने तक पहुँचाई जाती हैं।",
               "खंड {i} की ढलान पर {b} छायादार पेड़ लगाए गए हैं।",
               "खंड {i} की मेड़ों पर {w} के पौधे भी उगते हैं।",
               "बरसात के मौसम में खंड {i} में हर महीने लगभग {c} बार पत्तियाँ तोड़ी जाती हैं।"],
    words=["गेंदे", "तुलसी", "अदरक", "इलायची"],
    instances=[
        ("देवधार", 750, "देवधार चाय बागान की स्थापना 1867 में हुई थी, जब यहाँ पहली बार चाय के बीज बोए गए।",
         "देवधार चाय बागान की स्थापना कब हुई थी?"),
        ("सोनकुंड", 1500, "सोनकुंड चाय बागान की चाय अपनी हल्की फूलों जैसी ख़ुशबू के लिए प्रसिद्ध है, जो पहली "
         "तुड़ाई की पत्तियों में सबसे अधिक होती है।", "सोनकुंड चाय बागान की चाय किस लिए प्रसिद्ध है?"),
        ("रामगढ़ी", 6000, "रामगढ़ी चाय बागान में लगभग 640 मज़दूर परिवार रहते हैं और बागान का अपना एक स्कूल और "
         "अस्पताल है।", "रामगढ़ी चाय बागान में कितने मज़दूर परिवार रहते हैं?"),
    ])

KITS["zh"] = dict(
    title="{name}古道",
    intro="{name}古道是一条穿越山区的古代驿道，沿途设有许多驿站和石桥。本文按驿站顺序介绍古道的各个路段。",
    heading="第{i}驿站", start=1,
    sentences=["{name}古道第{i}驿站海拔{a}米。",
               "从第{i}驿站步行到下一站约需{c}小时。",
               "第{i}驿站附近有一座{w}石桥，桥长{b}米。",
               "第{i}驿站旁的村子里住着约{a}位居民。",
               "第{i}驿站门前的石阶共有{b}级，是用青石铺成的。",
               "第{i}驿站的院子里有{c}棵古柏。"],
    words=["单孔", "双孔", "三孔"],
    instances=[
        ("青岚", 750, "青岚古道始建于唐代，最初是为了运送茶叶和盐而修建的。", "青岚古道是什么时候修建的？"),
        ("松溪", 1500, "松溪古道上最长的石桥是万安桥，全长约九十米，建于明代。", "松溪古道上最长的石桥叫什么名字？"),
        ("白石岭", 8700, "白石岭古道在二十世纪五十年代修通公路以后逐渐荒废，如今成为一条徒步路线。",
         "白石岭古道是什么时候开始荒废的？"),
    ])

KITS["ja"] = dict(
    title="{name}温泉",
    intro="{name}温泉は山あいの谷にある温泉地で、数多くの源泉が湧き出しています。この記事では源泉を一つずつ紹介します。",
    heading="第{i}源泉", start=1,
    sentences=["{name}温泉の第{i}源泉の湯温は{b}度です。",
               "第{i}源泉からは毎分約{a}リットルの湯が湧き出しています。",
               "第{i}源泉の湯は{w}で、肌にやさしいと言われています。",
               "第{i}源泉の近くには{c}軒の旅館があります。",
               "第{i}源泉から駅までは歩いて約{b}分です。",
               "第{i}源泉の湯小屋は{c}年ごとに屋根をふき替えています。"],
    words=["無色透明", "乳白色", "薄い緑色", "茶褐色"],
    instances=[
        ("湯ノ沢", 750, "湯ノ沢温泉が開かれたのは1702年で、傷ついた鹿が湯につかっているのを猟師が見つけたのが始まりと"
         "伝えられています。", "湯ノ沢温泉はいつ開かれましたか？"),
        ("白滝", 1500, "白滝温泉という名前は、温泉街の奥にある高さ約30メートルの白い滝に由来します。",
         "白滝温泉という名前の由来は何ですか？"),
        ("鷹ノ巣", 3000, "鷹ノ巣温泉の名物は、源泉の蒸気で蒸した饅頭です。", "鷹ノ巣温泉の名物は何ですか？"),
    ])

KITS["ko"] = dict(
    title="{name} 둘레길",
    intro="{name} 둘레길은 산자락과 마을을 잇는 걷기 길로, 여러 구간으로 나뉘어 있습니다. 이 글에서는 각 구간을 "
          "차례대로 소개합니다.",
    heading="{i}구간", start=1,
    sentences=["{name} 둘레길 {i}구간의 길이는 약 {c}킬로미터입니다.",
               "{i}구간의 가장 높은 지점은 해발 {a}미터입니다.",
               "{i}구간을 걷는 데에는 보통 {b}분에서 두 시간 정도가 걸립니다.",
               "{i}구간 중간에는 {w}가 있어 쉬어 가기 좋습니다.",
               "{i}구간이 지나는 마을에는 약 {a}명이 살고 있습니다.",
               "{i}구간에는 방향을 알려 주는 이정표가 {b}개 세워져 있습니다."],
    words=["정자", "약수터", "전망대", "작은 쉼터"],
    instances=[
        ("솔바람", 750, "솔바람 둘레길은 2011년에 처음 개통되었으며, 당시에는 다섯 구간뿐이었습니다.",
         "솔바람 둘레길은 언제 개통되었나요?"),
        ("달빛", 1500, "달빛 둘레길이라는 이름은 보름달이 뜨는 밤마다 열리는 야간 걷기 행사에서 유래했습니다.",
         "달빛 둘레길이라는 이름은 어디에서 유래했나요?"),
        ("은행나무", 6000, "은행나무 둘레길에서는 매년 11월 초에 은행잎 축제가 열립니다.",
         "은행나무 둘레길의 축제는 언제 열리나요?"),
    ])

KITS["th"] = dict(
    title="คลอง{name}",
    intro="คลอง{name}เป็นคลองเก่าแก่ที่ไหลผ่านสวนผลไม้และชุมชนริมน้ำหลายแห่ง "
          "บทความนี้บรรยายท่าน้ำต่าง ๆ ตามลำดับจากปากคลอง",
    heading="ท่าน้ำที่ {i}", start=1,
    sentences=["ท่าน้ำที่ {i} ของคลอง{name}อยู่ห่างจากปากคลองประมาณ {b} กิโลเมตร",
               "ชุมชนรอบท่าน้ำที่ {i} มีผู้อยู่อาศัยราว {a} คน",
               "ทุกเช้ามีเรือขายของมาจอดที่ท่าน้ำที่ {i} ประมาณ {b} ลำ",
               "ใกล้ท่าน้ำที่ {i} มีสวน{w}ที่เปิดให้นักท่องเที่ยวเข้าชม",
               "ศาลาท่าน้ำที่ {i} สร้างด้วยไม้สักและมีเสา {c} ต้น",
               "ในฤดูน้ำหลาก คลองบริเวณท่าน้ำที่ {i} ลึกประมาณ {c} เมตร"],
    words=["มะพร้าว", "ส้มโอ", "มะม่วง", "ลิ้นจี่"],
    instances=[
        ("บางแก้ว", 750, "คลองบางแก้วขุดขึ้นเมื่อ พ.ศ. 2415 เพื่อใช้เป็นเส้นทางขนส่งข้าวและผลไม้เข้าสู่พระนคร",
         "คลองบางแก้วขุดขึ้นเมื่อใด"),
        ("ท่าทอง", 1500, "ตลาดน้ำคลองท่าทองเปิดเฉพาะวันเสาร์และวันอาทิตย์ ตั้งแต่เจ็ดโมงเช้าถึงบ่ายสองโมง",
         "ตลาดน้ำคลองท่าทองเปิดวันไหน"),
        ("ชมพู", 3000, "ทุกปีในเดือนพฤศจิกายน ชาวบ้านริมคลองชมพูจัดงานแข่งเรือยาวประจำปี",
         "งานแข่งเรือยาวของคลองชมพูจัดขึ้นในเดือนอะไร"),
    ])


def parse_text(lang: str, text: str) -> tuple[list[dict], list[dict]]:
    """Parse one language's block text into queries [{text, judged: [(doc index, grade)]}] and docs."""
    queries: list[dict] = []
    docs: list[dict] = []
    for block in text.strip().split("\n\n"):
        query = None
        for line in block.strip().splitlines():
            mark, _, rest = line.partition(" ")
            if mark == "Q":
                query = {"text": rest.strip(), "judged": []}
                queries.append(query)
                continue
            title, sep, body = rest.partition(" | ")
            if mark not in {"2", "1", "0", "-"} or not sep:
                raise ValueError(f"TEXT[{lang!r}]: malformed line {line[:60]!r}")
            docs.append({"title": title.strip(), "text": body.strip()})
            if mark != "-":
                if query is None:
                    raise ValueError(f"TEXT[{lang!r}]: judged passage outside a query block {line[:60]!r}")
                query["judged"].append((len(docs) - 1, int(mark)))
    return queries, docs


# Per language: the question about a section's first templated fact ({i} = the section's number), the names of
# the articles that fill the buckets no authored instance covers, and an echo trap: a short passage that quotes
# the question without answering it (judged 0; BM25 ranks it above the long answer).
ASK = {
    "en": "At what altitude does stop {i} on the {name} Railway lie?",
    "es": "¿A qué altitud se alza el molino {i} de {name}?",
    "de": "Wie viele Pflanzenarten wachsen im Beet {i} des Botanischen Gartens {name}?",
    "ru": "Какова сумма осадков на метеостанции {name} за {i} год?",
    "ar": "ما عمق البئر في المحطة {i} من درب {name}؟",
    "hi": "{name} चाय बागान का खंड {i} समुद्र तल से कितनी ऊँचाई पर है?",
    "zh": "{name}古道第{i}驿站的海拔是多少？",
    "ja": "{name}温泉の第{i}源泉の湯温は何度ですか？",
    "ko": "{name} 둘레길 {i}구간의 길이는 얼마인가요?",
    "th": "ท่าน้ำที่ {i} ของคลอง{name}อยู่ห่างจากปากคลองเท่าไร",
}
EXTRA_NAMES = {
    "en": ["Thornbeck", "Wyndham Fell"], "es": ["Torrealba", "Cañaveral del Monte"], "de": ["Birkenfelde"],
    "ru": ["Ледяная Балка"], "ar": ["العقيق"], "hi": ["मेघपुर"], "zh": ["雁回", "翠屏"], "ja": ["霧ヶ原"],
    "ko": ["물안개"], "th": ["ลำพู"],
}
ECHO = {
    "en": 'A reader asked the local history magazine: "{query}" The editors passed the letter on to the archive, '
          'which has not replied yet.',
    "es": 'Un lector preguntó a la revista de historia local: «{query}» La redacción envió la carta al archivo, que '
          'todavía no ha respondido.',
    "de": 'Ein Leser fragte die Heimatzeitschrift: „{query}“ Die Redaktion hat den Brief an das Archiv '
          'weitergegeben, das noch nicht geantwortet hat.',
    "ru": 'Читатель спросил краеведческий журнал: «{query}» Редакция передала письмо в архив, который пока не '
          'ответил.',
    "ar": 'سأل أحد القراء مجلة التاريخ المحلي: «{query}» وأحالت المجلة الرسالة إلى الأرشيف الذي لم يرد بعد.',
    "hi": 'एक पाठक ने स्थानीय इतिहास पत्रिका से पूछा: "{query}" संपादकों ने पत्र अभिलेखागार को भेज दिया है, जिसने '
          'अभी तक उत्तर नहीं दिया।',
    "zh": '一位读者向地方史杂志提问：“{query}”编辑部已把来信转给档案馆，但档案馆还没有答复。',
    "ja": 'ある読者が郷土史の雑誌に「{query}」と質問しました。編集部は手紙を資料館に回しましたが、まだ返事はありません。',
    "ko": '한 독자가 향토사 잡지에 "{query}"라고 물었습니다. 편집부는 편지를 기록관에 전달했지만 아직 답을 받지 '
          '못했습니다.',
    "th": 'ผู้อ่านคนหนึ่งถามนิตยสารประวัติศาสตร์ท้องถิ่นว่า "{query}" กองบรรณาธิการส่งจดหมายต่อไปยังหอจดหมายเหตุ '
          'ซึ่งยังไม่ได้ตอบกลับ',
}

# An authored instance's target (its bucket) -> the token length the article is built to: just past the bucket's
# lower edge, so the long buckets cost a reranker little more than they must (the CI gate reranks them at 8,192).
LENGTH_OF = {750: 540, 1500: 1060, 3000: 2110, 6000: 4140, 8700: 8240}
PLAN = (750, 1500, 3000, 6000)      # every language has one article per bucket; 8700 only where authored
ANSWERS_PER_DOC = 5                 # questions per article, one per fifth of its sections (varied depths)
# The two articles above 8,192 (en, zh) answer 20 questions each, so that bucket holds 40 queries too without
# more articles of 8,192 tokens (each such article costs the CI gate a second per query of its language).
ANSWERS_OF = {8700: 20}
SATELLITES = 4                      # short passages of each article (other sections, no answer)
ECHO_SHARE = 3                      # questions per article that get an echo trap


def token_length(tok, title: str, text: str) -> int:
    return len(tok(title + " " + text)["input_ids"])


def long_article(lang: str, kit: dict, name: str, target: int, authored: tuple[str, str] | None, tok,
                 answers: int = ANSWERS_PER_DOC):
    """Compose sections until the article holds about `target` XLM-R tokens (summed per section: XLM-R pieces
    never cross whitespace, so the sum is within a few tokens) and ask `answers` questions, one answered in
    each `answers`-th part of the sections: the authored instance's answer (if any) opens its section, the others
    ask for the section's first templated fact. Returns the doc, its questions [(query, (start, end))] with
    character spans into the text, and SATELLITES short passages (further sections, no answer)."""
    rng = random.Random(f"{SEED}:{lang}:{name}")
    sep = "" if lang in {"zh", "ja"} else " "
    title = kit["title"].format(name=name)
    intro = kit["intro"].format(name=name)

    def section(i: int) -> tuple[str, list[str]]:
        sents = [template.format(name=name, i=i, w=rng.choice(kit["words"]),
                                 **{key: rng.randint(lo, hi) for key, (lo, hi) in SLOTS.items()})
                 for template in kit["sentences"]]
        first = sents[0]
        rng.shuffle(sents)
        return first, sents

    sections: list[tuple[str, list[str]]] = []
    facts: list[str] = []
    total = token_length(tok, title, intro)
    while total < target:
        i = kit["start"] + len(sections)
        first, sents = section(i)
        sections.append((kit["heading"].format(i=i), sents))
        facts.append(first)
        total += len(tok(f"{sections[-1][0]}\n{sep.join(sents)}", add_special_tokens=False)["input_ids"])
    n = len(sections)
    assert n >= answers, (lang, name, n)
    chosen = [rng.randrange(k * n // answers, (k + 1) * n // answers) for k in range(answers)]
    authored_at = rng.randrange(answers) if authored else None
    asked = []
    for k, at in enumerate(chosen):
        if k == authored_at:
            answer, query = authored
            sections[at][1].insert(0, answer)
        else:
            answer, query = facts[at], ASK[lang].format(name=name, i=kit["start"] + at)
        asked.append((query, answer))
    text = "\n\n".join([intro] + [f"{head}\n{sep.join(sents)}" for head, sents in sections])
    questions = []
    for query, answer in asked:
        assert text.count(answer) == 1, (lang, name, answer)
        start = text.index(answer)
        questions.append((query, (start, start + len(answer))))
    satellites = [{"title": title, "text": sep.join(section(kit["start"] + n + j)[1])} for j in range(SATELLITES)]
    return {"title": title, "text": text}, questions, satellites


def long_plan(lang: str) -> list[tuple[str, int, tuple[str, str] | None]]:
    """(name, target, authored answer and query or None): the authored instances, plus new names for the
    buckets of PLAN they leave empty."""
    kit = KITS[lang]
    plan = [(name, target, (answer, query)) for name, target, answer, query in kit["instances"]]
    missing = [target for target in PLAN if target not in {t for _, t, _ in plan}]
    assert len(missing) == len(EXTRA_NAMES[lang]), (lang, missing)
    return sorted(plan + [(name, target, None) for name, target in zip(EXTRA_NAMES[lang], missing)],
                  key=lambda item: item[1])


def build_language(lang: str, tok):
    """Return topics [(qid, query)], corpus [{docid, title, text}], qrels [(qid, docid, grade)] and answer spans
    [(qid, docid, start, end)] (character offsets into the long documents' text)."""
    queries, docs = parse_text(lang, TEXT[lang])
    kit = KITS[lang]
    spans: dict[int, tuple[int, int]] = {}   # query index -> span in its long doc
    first_long = len(docs)
    for name, target, authored in long_plan(lang):
        doc, questions, satellites = long_article(lang, kit, name, LENGTH_OF[target], authored, tok,
                                                  ANSWERS_OF.get(target, ANSWERS_PER_DOC))
        docs.append(doc)
        at = len(docs) - 1
        docs += satellites
        echo = set(random.Random(f"{SEED}:echo:{lang}:{name}").sample(range(len(questions)), ECHO_SHARE))
        for k, (query, span) in enumerate(questions):
            queries.append({"text": query, "judged": [(at, 2)]})
            spans[len(queries) - 1] = span
            if k in echo:
                docs.append({"title": doc["title"], "text": ECHO[lang].format(query=query)})
                queries[-1]["judged"].append((len(docs) - 1, 0))
    queries[-1]["judged"].append((first_long, 0))  # a long judged negative
    trap_queries, trap_docs = trap_families(lang, SEED)
    offset = len(docs)
    docs += trap_docs
    queries += [{"text": q["text"], "judged": [(offset + i, g) for i, g in q["judged"]]} for q in trap_queries]

    rng = random.Random(f"{SEED}:{lang}")
    titles = list(dict.fromkeys(doc["title"] for doc in docs))
    article_ids = dict(zip(titles, rng.sample(range(1000, 3_000_000), len(titles))))
    passages: Counter[str] = Counter()
    corpus = []
    for doc in docs:
        docid = f"{article_ids[doc['title']]}#{passages[doc['title']]}"
        passages[doc["title"]] += 1
        corpus.append({"docid": docid, "title": doc["title"], "text": doc["text"]})
    qids = [str(q) for q in rng.sample(range(1, 10_000), len(queries))]
    topics = [(qid, q["text"]) for qid, q in zip(qids, queries)]
    qrels = [(qid, corpus[index]["docid"], grade) for qid, q in zip(qids, queries) for index, grade in q["judged"]]
    answer_spans = [(qids[k], corpus[queries[k]["judged"][0][0]]["docid"], *span) for k, span in spans.items()]
    rng.shuffle(corpus)  # no system should profit from relevant passages coming first in the file
    return topics, corpus, qrels, answer_spans


def answer_tokens(corpus, spans, tok) -> list[tuple[str, str, int, int, int]]:
    """(qid, docid, first answer token, token after it, doc tokens): XLM-R tokens of title + " " + text, the
    prefix counted without special tokens, so the answer's position reads straight off the bucket length."""
    docs = {doc["docid"]: doc for doc in corpus}
    rows = []
    for qid, docid, start, end in spans:
        doc = docs[docid]
        head = len(tok(doc["title"] + " " + doc["text"][:start], add_special_tokens=False)["input_ids"])
        upto = len(tok(doc["title"] + " " + doc["text"][:end], add_special_tokens=False)["input_ids"])
        rows.append((qid, docid, head, upto, token_length(tok, doc["title"], doc["text"])))
    return rows


def write_language(out: Path, lang: str, topics, corpus, qrels, spans, tokens) -> None:
    topics_dir = out / f"miracl-v1.0-{lang}" / "topics"
    qrels_dir = out / f"miracl-v1.0-{lang}" / "qrels"
    spans_dir = out / f"miracl-v1.0-{lang}" / "spans"
    corpus_dir = out / f"miracl-corpus-v1.0-{lang}"
    for folder in (topics_dir, qrels_dir, spans_dir, corpus_dir):
        folder.mkdir(parents=True, exist_ok=True)
    lines = "".join(f"{qid}\t{text}\n" for qid, text in topics)
    (topics_dir / f"topics.miracl-v1.0-{lang}-dev.tsv").write_bytes(lines.encode("utf-8"))
    lines = "".join(f"{qid}\tQ0\t{docid}\t{grade}\n" for qid, docid, grade in qrels)
    (qrels_dir / f"qrels.miracl-v1.0-{lang}-dev.tsv").write_bytes(lines.encode("utf-8"))
    lines = "".join(f"{qid}\t{docid}\t{start}\t{end}\n" for qid, docid, start, end in spans)
    (spans_dir / f"spans.miracl-v1.0-{lang}-dev.tsv").write_bytes(lines.encode("utf-8"))
    lines = "".join("\t".join(map(str, row)) + "\n" for row in tokens)
    (spans_dir / f"tokens.miracl-v1.0-{lang}-dev.tsv").write_bytes(lines.encode("utf-8"))
    payload = "".join(json.dumps(doc, ensure_ascii=False) + "\n" for doc in corpus).encode("utf-8")
    with open(corpus_dir / "docs-0.jsonl.gz", "wb") as raw:
        with gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as gz:
            gz.write(payload)


def bucket_of(n_tokens: int) -> str:
    return BUCKETS[bisect.bisect_left(EDGES, n_tokens)]


def language_stats(lang: str, topics, corpus, qrels, tok) -> dict:
    """Counts and per-query buckets (longest relevant doc, XLM-R tokens incl. special tokens)."""
    lengths = {doc["docid"]: token_length(tok, doc["title"], doc["text"]) for doc in corpus}
    longest: dict[str, int] = {}
    for qid, docid, grade in qrels:
        if grade >= 1:
            longest[qid] = max(longest.get(qid, 0), lengths[docid])
    missing = [qid for qid, _ in topics if qid not in longest]
    assert not missing, f"{lang}: queries without a relevant document: {missing}"
    grades = Counter(grade for _, _, grade in qrels)
    return {"queries": len(topics), "docs": len(corpus), "grades": grades,
            "buckets": Counter(bucket_of(longest[qid]) for qid, _ in topics),
            "min_doc": min(lengths.values()), "max_doc": max(lengths.values())}


def check_requirements(stats: dict[str, dict]) -> None:
    """The bucket plan: every language has ANSWERS_PER_DOC queries in each bucket from (512,1024] to
    (4096,8192] and >= 40 per bucket over the languages, >8192 included (its articles exist only where authored)."""
    for lang, s in stats.items():
        b = s["buckets"]
        assert all(b[name] == ANSWERS_PER_DOC for name in BUCKETS[1:5]), (lang, b)
        assert b["<=512"] >= 49, (lang, b)
        assert all(s["grades"][g] > 0 for g in (0, 1, 2)), (lang, s["grades"])
    totals = sum((s["buckets"] for s in stats.values()), Counter())
    assert all(totals[name] >= 40 for name in BUCKETS), totals


def short_passages_ok(corpus, qrels, tok) -> None:
    """Short (non-generated) relevant passages stay within 400 tokens."""
    long_titles = {doc["title"] for doc in corpus if "\n" in doc["text"]}
    relevant = {docid for _, docid, grade in qrels if grade >= 1}
    for doc in corpus:
        if doc["docid"] in relevant and doc["title"] not in long_titles:
            assert token_length(tok, doc["title"], doc["text"]) <= SHORT_MAX_TOKENS, doc["docid"]

SCRIPTS = {"en": "Latin", "es": "Latin", "de": "Latin", "ru": "Cyrillic", "ar": "Arabic", "hi": "Devanagari",
           "zh": "Han", "ja": "Kana + Han", "ko": "Hangul", "th": "Thai"}

README = """# evalkit sample benchmark

A tiny multilingual retrieval benchmark bundled with evalkit so that tests, demos and the CI gate run offline.
It is **not** a MIRACL subset and its scores are not comparable with MIRACL numbers: every text was written
for evalkit. It uses exactly the file layout of the Hugging Face `miracl/miracl` and `miracl/miracl-corpus`
repositories, so the same loader reads the sample and real MIRACL:

```
miracl-v1.0-{{lang}}/topics/topics.miracl-v1.0-{{lang}}-dev.tsv    qid<TAB>query (no header)
miracl-v1.0-{{lang}}/qrels/qrels.miracl-v1.0-{{lang}}-dev.tsv      qid<TAB>Q0<TAB>docid<TAB>rel
miracl-corpus-v1.0-{{lang}}/docs-0.jsonl.gz                       {{"docid", "title", "text"}} per line
miracl-v1.0-{{lang}}/spans/spans.miracl-v1.0-{{lang}}-dev.tsv      qid<TAB>docid<TAB>start<TAB>end (evalkit only)
miracl-v1.0-{{lang}}/spans/tokens.miracl-v1.0-{{lang}}-dev.tsv     qid<TAB>docid<TAB>tok_start<TAB>tok_end<TAB>doc_tokens
```

The spans file marks where the answer sits inside each long relevant document: character offsets `[start, end)`
into the document's `text` (Python string indices); the tokens file gives the same answer in XLM-R tokens of
`title + " " + text` (the prefix without special tokens; `doc_tokens` with them, as the buckets count), so an
answer's depth is `tok_start / doc_tokens`. MIRACL has no such files; `evalkit explore` shows the
spans when a benchmark has them.

Docids follow MIRACL's `articleid#passageid`; passages of one article share the article id. Grades: 2 highly
relevant, 1 partially relevant, 0 judged non-relevant. Every query has at least one document of grade >= 1.

## Contents

| lang | script | queries | passages | qrels grade 2 / 1 / 0 | shortest / longest doc (tokens) |
|---|---|---:|---:|---|---|
{lang_rows}

A query's length bucket is the XLM-R token length (`len(tok(title + " " + text)["input_ids"])`, special
tokens included) of its longest relevant document, with edges 512, 1024, 2048, 4096, 8192:

| bucket | queries |
|---|---:|
{bucket_rows}

In every language most queries have short relevant passages (at most {short_max} tokens); each language has
one long article just past the lower edge of each bucket from (512,1024] to (4096,8192] (about 600-670,
1,090-1,180, 2,110-2,220 and 4,140-4,260 tokens) and en and zh one above 8,192 (about 8,350 tokens). Every long
article answers five questions, one in each fifth of its sections (the two above 8,192 answer twenty, one in
each twentieth: two articles of that length cost the CI gate, which reranks every candidate at up to 8,192 tokens,
far less than eight would), so answers sit at varied depths: before and after a 512-token cut alike. That gives
{per_bucket} queries per bucket up to 8,192 and {over} above it. Three questions of each article also get an echo
trap, a short passage that quotes the question without
answering it (judged 0), so BM25 stays below its ceiling in every bucket.

Forty queries per language are lexical traps (see below): BM25 ranks passages that repeat the query's words
above the one that answers it, so the sample leaves a reranker room to show what it does.

## How it was made

`python scripts/make_sample.py` (fixed seed {seed}, gzip mtime 0) writes these files byte-identically on every
run (`--out DIR` writes elsewhere; `tests/test_sample_data.py` checks that regeneration reproduces them; a
different zlib build could in principle compress differently, the decompressed records never change). It
needs the real XLM-R tokenizer, read from the `semantra_multilingual` package (evalkit's `test` extra).

- Short passages: encyclopedic facts (geography, science, cooking, history, technology, sports, culture),
  written natively in each language. Each query comes with hard distractors that share its vocabulary but do
  not answer it (the freezing point of water at altitude for a question about its boiling point, the half
  marathon for the marathon, the second-highest mountain for the highest), some judged 0, others unjudged,
  plus filler passages on unrelated topics.
- Lexical traps (`scripts/sample_traps.py`): ten fictional villages per language, four questions each (when
  was it founded, how many people live there, how high above sea level, what food it is famous for). The
  grade-2 passage answers in other words (the first settlers built their homes there in 1642; the census
  counted 5,210 inhabitants), half of them with a closing sentence that echoes the question; a grade-1 passage
  answers partly (an early tax register, the number of households); a judged grade-0 passage and two unjudged
  ones repeat the question's words about something else (the football club was founded by railway workers;
  many people who live there sing in the choir; another village was founded on the road to this one).
- Long documents: encyclopedic articles with sections about **fictional** places (a mountain railway,
  windmills, a botanical garden, a weather station, a caravan route, a tea estate, an old road, a hot-spring
  town, a walking trail, a canal). Each is composed from distinct authored sentence templates, section by
  section, until it reaches its target length. Its questions ask for one section's first fact (the
  altitude of stop 17) or, for the authored instance, a sentence that opens its section; the spans and tokens
  files record where each answer sits. Four more sections of each article are short passages of the same
  title (no answer), and articles of one language share their vocabulary, so both are hard distractors.

## License

All texts were written for evalkit and are not copied from any source. They are dedicated to the public
domain under CC0 1.0 Universal (https://creativecommons.org/publicdomain/zero/1.0/); use them under MIT terms
if you prefer.
"""


def render_readme(stats: dict[str, dict]) -> str:
    lang_rows = "\n".join(
        f"| {lang} | {SCRIPTS[lang]} | {s['queries']} | {s['docs']} | "
        f"{s['grades'][2]} / {s['grades'][1]} / {s['grades'][0]} | {s['min_doc']} / {s['max_doc']} |"
        for lang, s in stats.items())
    totals = sum((s["buckets"] for s in stats.values()), Counter())
    bucket_rows = "\n".join(f"| {name} | {totals[name]} |" for name in BUCKETS)
    return README.format(lang_rows=lang_rows, bucket_rows=bucket_rows, short_max=SHORT_MAX_TOKENS, seed=SEED,
                         per_bucket=totals["(512,1024]"], over=totals[">8192"])


def load_xlmr_tokenizer():
    """The real XLM-R tokenizer shipped inside the `semantra_multilingual` package (test extra)."""
    from importlib.resources import files

    from transformers import XLMRobertaTokenizerFast

    path = files("semantra_multilingual") / "assets" / "multilingual-e5-small" / "tokenizer.json"
    return XLMRobertaTokenizerFast(tokenizer_file=str(path))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output directory (default: %(default)s)")
    out = parser.parse_args().out
    tok = load_xlmr_tokenizer()
    stats = {}
    for lang in LANGS:
        topics, corpus, qrels, spans = build_language(lang, tok)
        short_passages_ok(corpus, qrels, tok)
        write_language(out, lang, topics, corpus, qrels, spans, answer_tokens(corpus, spans, tok))
        stats[lang] = language_stats(lang, topics, corpus, qrels, tok)
    check_requirements(stats)
    (out / "README.md").write_bytes(render_readme(stats).encode("utf-8"))
    for lang, s in stats.items():
        buckets = ", ".join(f"{name}: {s['buckets'][name]}" for name in BUCKETS if s["buckets"][name])
        print(f"{lang}: {s['queries']} queries, {s['docs']} docs, qrels {dict(sorted(s['grades'].items()))}, "
              f"doc tokens {s['min_doc']}-{s['max_doc']}; buckets {buckets}")
    totals = sum((s["buckets"] for s in stats.values()), Counter())
    print("queries per bucket: " + ", ".join(f"{name}: {totals[name]}" for name in BUCKETS))
    size = sum(path.stat().st_size for path in out.rglob("*") if path.is_file())
    print(f"wrote {out} ({size / 1024:.0f} KiB)")
    assert size < 2_000_000, size


if __name__ == "__main__":
    main()
