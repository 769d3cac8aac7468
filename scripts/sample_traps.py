"""Lexical-trap query families for the bundled sample (read by scripts/make_sample.py; original text, CC0).

Per language: ten fictional villages and four facets (when founded, how many inhabitants, altitude, famous food).
Each facet has a query and six authored passages:
  rel  (grade 2) answers it in other words than the query's (settlers built houses in YEAR, N inhabitants ...);
  part (grade 1) gives a partial answer (an early record, the number of households, "one of the highest");
  trap (grade 0, judged) and the unjudged distractors repeat the query's words about something else
       (the football club was founded ..., many people who live in X sing in the choir ...).
{X} is the village, {Y} the next village in the list, the other slots are drawn by make_sample.py.
"""
from __future__ import annotations

import random

KINDS = ("rel", "part", "trap", "u1", "u2")
GRADES = {"rel": 2, "part": 1, "trap": 0, "u1": None, "u2": None}
FACETS = ("founded", "population", "altitude", "food")

# facet -> [query, (title, text) for each of KINDS]
TRAPS: dict[str, dict] = {}

TRAPS["en"] = dict(
    names=["Ashcombe", "Brindlemere", "Caldwick", "Dunhollow", "Elderford", "Fenwicke", "Garrowby", "Hollinsby",
           "Kettlewade", "Larkspurton"],
    foods=["smoked cheese", "plum cake", "honey bread", "walnut biscuits", "pickled trout"],
    founded=["When was {X} founded?",
             ("{X}", "The first settlers built their homes at {X} in {year}, on a dry terrace above the marshes."),
             ("{X}", "{X} already appears in a tax register of {year2}, so the village is at least that old."),
             ("{X} Rovers", "{X} Rovers, the football club of the town, was founded by railway workers. Nobody "
              "remembers when the club was founded, because its first minute book was lost."),
             ("{Y}", "{Y} was founded as a market town on the road from {X}, and when the road was paved it grew "
              "quickly."),
             ("{X} Historical Society", "The {X} Historical Society was founded to find out when the first houses "
              "of the town stood; it publishes a newsletter every spring.")],
    population=["How many people live in {X}?",
                ("{X}", "At the last census {X} counted {n} inhabitants, most of them in the old town around the "
                 "square."),
                ("{X}", "{X} has about {h} households, a figure the council uses to plan its bus routes."),
                ("{X} Choir", "Many people who live in {X} sing in the town choir, which gives a concert in the "
                 "church every December."),
                ("{Y}", "How many people live in {Y} is hard to say, because many of them live in {X} for half the "
                 "year."),
                ("Housing in {X}", "People who live in {X} pay less rent than in the city; many young families live "
                 "in new houses by the station.")],
    altitude=["How high above sea level is {X}?",
              ("{X}", "{X} sits on a plateau {m} metres up, and its winters are colder than those of the valley "
               "towns."),
              ("{X}", "{X} is one of the loftiest villages in the county, well above the woods of the lower hills."),
              ("{X} Church", "The spire of the church in {X} is 40 metres high; from the top one can see the sea on "
               "a clear day."),
              ("{Y}", "{Y} lies on the coast near {X}; at high tide the sea level rises above the harbour wall."),
              ("Weather in {X}", "How high the snow lies in {X} depends on the winter; the level of the river rises "
               "in spring.")],
    food=["What food is {X} famous for?",
          ("{X}", "Travellers stop in {X} to taste its {v}, made by hand in small bakeries and dairies."),
          ("{X}", "{X} holds a market every Saturday where local farmers sell cheese, cakes and preserves."),
          ("{X} Food Bank", "The {X} food bank is famous in the region for its volunteers, who collect food for "
           "families every week."),
          ("{Y}", "{Y} is famous for its food festival, and many visitors from {X} travel there every autumn."),
          ("{X} Castle", "{X} is famous for its castle; what visitors remember most is the view from the walls.")],
)

TRAPS["es"] = dict(
    names=["Cerrolargo", "Fuentecilla del Olmo", "Montejara", "Peñaverde", "Robledillo de Saz", "Villacuervo",
           "Arroyomenor", "Castrobrumo", "Navalgrís", "Sotoclaro"],
    foods=["queso ahumado", "bizcocho de ciruela", "pan de miel", "chorizo de ciervo", "turrón de nueces"],
    founded=["¿Cuándo se fundó {X}?",
             ("{X}", "Los primeros pobladores levantaron sus casas en {X} en {year}, sobre una loma junto al "
              "arroyo."),
             ("{X}", "{X} ya aparece en un registro de impuestos de {year2}, así que el pueblo tiene al menos esa "
              "antigüedad."),
             ("Club Deportivo {X}", "El Club Deportivo {X} se fundó gracias a un grupo de ferroviarios. Nadie "
              "recuerda cuándo se fundó el club, porque su primer libro de actas se perdió."),
             ("{Y}", "{Y} se fundó como villa de mercado en el camino de {X}, y cuando se asfaltó la carretera "
              "creció deprisa."),
             ("Asociación histórica de {X}", "La asociación histórica de {X} se fundó para averiguar cuándo se "
              "levantaron las primeras casas del pueblo; publica un boletín cada primavera.")],
    population=["¿Cuántas personas viven en {X}?",
                ("{X}", "Según el último censo, {X} cuenta con {n} habitantes, la mayoría en el casco antiguo "
                 "alrededor de la plaza."),
                ("{X}", "{X} tiene unos {h} hogares, una cifra que el ayuntamiento usa para planificar las rutas de "
                 "autobús."),
                ("Coro de {X}", "Muchas personas que viven en {X} cantan en el coro del pueblo, que da un concierto "
                 "en la iglesia cada diciembre."),
                ("{Y}", "Es difícil decir cuántas personas viven en {Y}, porque muchas de ellas viven en {X} la "
                 "mitad del año."),
                ("Vivienda en {X}", "Las personas que viven en {X} pagan menos alquiler que en la ciudad; muchas "
                 "familias jóvenes viven en casas nuevas junto a la estación.")],
    altitude=["¿A qué altura sobre el nivel del mar está {X}?",
              ("{X}", "{X} se asienta en una meseta a {m} metros, y sus inviernos son más fríos que los de los "
               "pueblos del valle."),
              ("{X}", "{X} es uno de los pueblos más elevados de la comarca, muy por encima de los bosques de las "
               "colinas bajas."),
              ("Iglesia de {X}", "La torre de la iglesia de {X} tiene 40 metros de altura; desde arriba se ve el "
               "mar en los días despejados."),
              ("{Y}", "{Y} está en la costa cerca de {X}; con la marea alta el nivel del mar sube por encima del "
               "muelle."),
              ("Clima de {X}", "La altura de la nieve en {X} depende del invierno; el nivel del río sube en "
               "primavera.")],
    food=["¿Por qué comida es famoso {X}?",
          ("{X}", "Los viajeros paran en {X} para probar su {v}, elaborado a mano en pequeños obradores."),
          ("{X}", "{X} celebra un mercado cada sábado donde los agricultores venden quesos, dulces y conservas."),
          ("Banco de alimentos de {X}", "El banco de alimentos de {X} es famoso en la comarca por sus voluntarios, "
           "que recogen comida para las familias cada semana."),
          ("{Y}", "{Y} es famoso por su feria de comida, y muchos vecinos de {X} viajan allí cada otoño."),
          ("Castillo de {X}", "{X} es famoso por su castillo; lo que más recuerdan los visitantes es la vista desde "
           "las murallas.")],
)

TRAPS["de"] = dict(
    names=["Eschenbrunn", "Falkenmoor", "Grünwiesel", "Hagenbruch", "Kesselried", "Lerchenbühl", "Moosbrück",
           "Rabenstetten", "Tannwiesen", "Weidenkamp"],
    foods=["Räucherkäse", "Pflaumenkuchen", "Honiglebkuchen", "Walnusszwieback", "Kümmelkäse"],
    founded=["Wann wurde {X} gegründet?",
             ("{X}", "Die ersten Siedler bauten ihre Häuser in {X} im Jahr {year}, auf einer trockenen Anhöhe über "
              "dem Moor."),
             ("{X}", "{X} taucht bereits in einem Steuerregister von {year2} auf, der Ort ist also mindestens so "
              "alt."),
             ("SV {X}", "Der SV {X}, der Fußballverein des Ortes, wurde von Eisenbahnern gegründet. Wann genau der "
              "Verein gegründet wurde, weiß niemand mehr, denn das erste Protokollbuch ging verloren."),
             ("{Y}", "{Y} wurde als Marktort an der Straße nach {X} gegründet, und als die Straße gepflastert "
              "wurde, wuchs der Ort schnell."),
             ("Geschichtsverein {X}", "Der Geschichtsverein {X} wurde gegründet, um herauszufinden, wann die ersten "
              "Häuser des Ortes standen; er gibt jedes Frühjahr ein Heft heraus.")],
    population=["Wie viele Menschen leben in {X}?",
                ("{X}", "Bei der letzten Volkszählung hatte {X} {n} Einwohner, die meisten davon in der Altstadt "
                 "rund um den Marktplatz."),
                ("{X}", "{X} hat etwa {h} Haushalte; mit dieser Zahl plant die Gemeinde ihre Buslinien."),
                ("Chor {X}", "Viele Menschen, die in {X} leben, singen im Kirchenchor, der jeden Dezember ein "
                 "Konzert gibt."),
                ("{Y}", "Wie viele Menschen in {Y} leben, ist schwer zu sagen, denn viele von ihnen leben das halbe "
                 "Jahr in {X}."),
                ("Wohnen in {X}", "Menschen, die in {X} leben, zahlen weniger Miete als in der Stadt; viele junge "
                 "Familien leben in neuen Häusern am Bahnhof.")],
    altitude=["Wie hoch über dem Meeresspiegel liegt {X}?",
              ("{X}", "{X} breitet sich auf einer Hochebene in {m} Metern aus, und seine Winter sind kälter als die "
               "der Talorte."),
              ("{X}", "{X} gehört zu den am höchsten gelegenen Dörfern des Kreises, weit oberhalb der Wälder der "
               "niedrigen Hügel."),
              ("Kirche {X}", "Der Kirchturm von {X} ist 40 Meter hoch; von oben sieht man an klaren Tagen das "
               "Meer."),
              ("{Y}", "{Y} liegt an der Küste bei {X}; bei Flut steigt der Meeresspiegel über die Hafenmauer."),
              ("Wetter in {X}", "Wie hoch der Schnee in {X} liegt, hängt vom Winter ab; der Pegel des Flusses "
               "steigt im Frühjahr.")],
    food=["Für welches Essen ist {X} berühmt?",
          ("{X}", "Reisende halten in {X}, um seinen {v} zu kosten, der in kleinen Backstuben von Hand gemacht "
           "wird."),
          ("{X}", "In {X} ist jeden Samstag Markt, auf dem Bauern Käse, Kuchen und Eingemachtes verkaufen."),
          ("Tafel {X}", "Die Tafel in {X} ist in der Region berühmt für ihre Ehrenamtlichen, die jede Woche Essen "
           "für Familien sammeln."),
          ("{Y}", "{Y} ist für sein Essensfest berühmt, und viele Leute aus {X} fahren jeden Herbst dorthin."),
          ("Burg {X}", "{X} ist berühmt für seine Burg; am meisten bleibt den Besuchern der Blick von den Mauern "
           "in Erinnerung.")],
)

TRAPS["ru"] = dict(
    names=["Берёзовый Лог", "Верхняя Ивица", "Гусиный Брод", "Дубравино", "Журавлиха", "Каменный Ручей",
           "Лосиноборск", "Медвежий Угол", "Сосновка-Заречная", "Тихая Заводь"],
    foods=["копчёный сыр", "сливовый пирог", "медовый пряник", "ореховый рулет", "ржаной каравай"],
    founded=["Когда было основано село {X}?",
             ("{X}", "Первые поселенцы поставили свои избы в селе {X} в {year} году, на сухом холме над "
              "болотом."),
             ("{X}", "Село {X} упоминается уже в налоговой книге {year2} года, так что ему не меньше этого срока."),
             ("ФК «{X}»", "Футбольный клуб «{X}» был основан железнодорожниками. Когда именно был основан клуб, "
              "никто не помнит: первая книга протоколов пропала."),
             ("{Y}", "Село {Y} было основано как торговое место на дороге в село {X}, а когда дорогу замостили, "
              "оно быстро выросло."),
             ("Краеведческое общество села {X}", "Краеведческое общество было основано в селе {X}, чтобы выяснить, "
              "когда появились первые дома; каждую весну оно выпускает сборник.")],
    population=["Сколько человек живёт в селе {X}?",
                ("{X}", "По данным последней переписи, в селе {X} насчитывается {n} жителей, большинство из них — в "
                 "старой части вокруг площади."),
                ("{X}", "В селе {X} около {h} домохозяйств; по этому числу администрация планирует автобусные "
                 "маршруты."),
                ("Хор села {X}", "Многие, кто живёт в селе {X}, поют в церковном хоре, который каждый декабрь даёт "
                 "концерт."),
                ("{Y}", "Сколько человек живёт в селе {Y}, сказать трудно: многие полгода живут в селе {X}."),
                ("Жильё в селе {X}", "Люди, которые живут в селе {X}, платят за жильё меньше, чем в городе; многие "
                 "молодые семьи живут в новых домах у станции.")],
    altitude=["На какой высоте над уровнем моря находится село {X}?",
              ("{X}", "Село {X} раскинулось на плато на отметке {m} метров, и зимы здесь холоднее, чем в долинных "
               "посёлках."),
              ("{X}", "Село {X} — одно из самых горных в районе, оно стоит гораздо выше лесов на низких холмах."),
              ("Церковь села {X}", "Колокольня церкви в селе {X} имеет высоту 40 метров; с неё в ясный день видно "
               "море."),
              ("{Y}", "Село {Y} находится на берегу моря недалеко от села {X}; в прилив уровень моря поднимается "
               "выше причала."),
              ("Погода в селе {X}", "Высота снега в селе {X} зависит от зимы; уровень реки поднимается весной.")],
    food=["Какой едой славится село {X}?",
          ("{X}", "Путешественники заезжают в село {X}, чтобы попробовать местный {v}, который делают вручную в "
           "маленьких мастерских."),
          ("{X}", "В селе {X} каждую субботу проходит ярмарка, где фермеры продают сыр, пироги и варенье."),
          ("Продуктовый фонд села {X}", "Продуктовый фонд села {X} славится в округе своими волонтёрами, которые "
           "каждую неделю собирают еду для семей."),
          ("{Y}", "Село {Y} славится праздником еды, и многие жители села {X} каждую осень едут туда."),
          ("Крепость села {X}", "Село {X} славится своей крепостью; больше всего гостям запоминается вид со "
           "стен.")],
)

TRAPS["ar"] = dict(
    names=["عين الصفصاف", "وادي الريحان", "تل الزيتون", "كفر الحمام", "بئر السنديان", "جبل الكرمة", "النخيلات",
           "دير الغزلان", "مرج الياسمين", "رأس العنبر"],
    foods=["الجبن المدخن", "كعك التمر", "خبز العسل", "المعمول بالجوز", "الزيتون المخلل"],
    founded=["متى تأسست قرية {X}؟",
             ("{X}", "بنى المستوطنون الأوائل بيوتهم في قرية {X} سنة {year} على تلة جافة فوق المستنقعات."),
             ("{X}", "ورد اسم قرية {X} في سجل ضرائب يعود إلى سنة {year2}، فعمرها لا يقل عن ذلك."),
             ("نادي {X} الرياضي", "تأسس نادي {X} الرياضي على يد عمال السكك الحديدية، ولا أحد يتذكر متى تأسس "
              "النادي لأن دفتر محاضره الأول ضاع."),
             ("{Y}", "تأسست قرية {Y} سوقاً على الطريق إلى قرية {X}، ولما رُصف الطريق كبرت بسرعة."),
             ("جمعية تاريخ {X}", "تأسست جمعية تاريخ قرية {X} لتعرف متى بُنيت أول بيوت القرية، وهي تصدر نشرة كل "
              "ربيع.")],
    population=["كم عدد الناس الذين يعيشون في قرية {X}؟",
                ("{X}", "بحسب آخر إحصاء سكاني يقطن قرية {X} {n} نسمة، أغلبهم في البلدة القديمة حول الساحة."),
                ("{X}", "في قرية {X} نحو {h} أسرة، وتعتمد البلدية على هذا الرقم في تخطيط خطوط الحافلات."),
                ("جوقة {X}", "كثير من الناس الذين يعيشون في قرية {X} يغنون في جوقة القرية التي تقدم حفلاً كل "
                 "ديسمبر."),
                ("{Y}", "من الصعب معرفة عدد الناس الذين يعيشون في قرية {Y}، لأن كثيراً منهم يعيشون نصف السنة في "
                 "قرية {X}."),
                ("السكن في {X}", "الناس الذين يعيشون في قرية {X} يدفعون إيجاراً أقل مما في المدينة، وكثير من "
                 "العائلات الشابة يعيشون في بيوت جديدة قرب المحطة.")],
    altitude=["كم ترتفع قرية {X} عن مستوى سطح البحر؟",
              ("{X}", "تمتد قرية {X} على هضبة عند {m} متر، وشتاؤها أبرد من شتاء قرى الوادي."),
              ("{X}", "قرية {X} من أعلى قرى المنطقة، وتقع فوق غابات التلال المنخفضة بكثير."),
              ("مئذنة {X}", "ترتفع مئذنة الجامع في قرية {X} أربعين متراً، ومن أعلاها يُرى البحر في الأيام "
               "الصافية."),
              ("{Y}", "تقع قرية {Y} على ساحل البحر قرب قرية {X}، وعند المد يرتفع مستوى سطح البحر فوق رصيف "
               "الميناء."),
              ("طقس {X}", "يختلف ارتفاع الثلج في قرية {X} من شتاء إلى آخر، ويرتفع مستوى النهر في الربيع.")],
    food=["بأي طعام تشتهر قرية {X}؟",
          ("{X}", "يتوقف المسافرون في قرية {X} ليتذوقوا {v} الذي يُصنع يدوياً في مخابز صغيرة."),
          ("{X}", "يقام في قرية {X} سوق كل سبت يبيع فيه المزارعون الجبن والحلوى والمربى."),
          ("بنك الطعام في {X}", "يشتهر بنك الطعام في قرية {X} بمتطوعيه الذين يجمعون الطعام للعائلات كل "
           "أسبوع."),
          ("{Y}", "تشتهر قرية {Y} بمهرجان الطعام، ويسافر إليها كثير من أهل قرية {X} كل خريف."),
          ("قلعة {X}", "تشتهر قرية {X} بقلعتها، وأكثر ما يتذكره الزوار هو المنظر من فوق الأسوار.")],
)

TRAPS["hi"] = dict(
    names=["सुनहरीपुर", "बेलगाँव", "कमलवाड़ी", "नीलधार", "पीपलकोट", "चंदनखेड़ा", "मोरपानी", "हरियाली टोला",
           "झरनागढ़", "सरसोंपुर"],
    foods=["गुड़ की चिक्की", "बेसन के लड्डू", "आम का अचार", "मावे की बर्फ़ी", "तिल की गजक"],
    founded=["{X} गाँव की स्थापना कब हुई थी?",
             ("{X}", "पहले बसने वालों ने {year} में {X} गाँव में सूखे टीले पर अपने घर बनाए।"),
             ("{X}", "{X} गाँव का नाम {year2} के एक लगान रजिस्टर में मिलता है, इसलिए गाँव कम से कम उतना पुराना "
              "है।"),
             ("{X} फ़ुटबॉल क्लब", "{X} फ़ुटबॉल क्लब की स्थापना रेलवे कर्मचारियों ने की थी। क्लब की स्थापना कब हुई "
              "थी, यह किसी को याद नहीं, क्योंकि पहली बैठक की किताब खो गई।"),
             ("{Y}", "{Y} गाँव की स्थापना {X} गाँव जाने वाली सड़क पर एक बाज़ार के रूप में हुई थी, और सड़क पक्की "
              "होने पर यह तेज़ी से बढ़ा।"),
             ("{X} इतिहास मंडल", "{X} इतिहास मंडल की स्थापना यह पता लगाने के लिए हुई थी कि गाँव के पहले घर कब "
              "बने; यह हर वसंत एक पत्रिका निकालता है।")],
    population=["{X} गाँव में कितने लोग रहते हैं?",
                ("{X}", "पिछली जनगणना के अनुसार {X} गाँव की आबादी {n} है, जिनमें से अधिकांश चौक के आसपास के पुराने "
                 "मोहल्ले में बसे हैं।"),
                ("{X}", "{X} गाँव में लगभग {h} परिवार हैं; पंचायत इसी संख्या से बस के रास्ते तय करती है।"),
                ("{X} भजन मंडली", "{X} गाँव में रहने वाले कई लोग भजन मंडली में गाते हैं, जो हर दिसंबर मंदिर में "
                 "कार्यक्रम करती है।"),
                ("{Y}", "{Y} गाँव में कितने लोग रहते हैं, यह कहना कठिन है, क्योंकि उनमें से कई लोग आधा साल {X} "
                 "गाँव में रहते हैं।"),
                ("{X} में आवास", "{X} गाँव में रहने वाले लोग शहर से कम किराया देते हैं; कई युवा परिवार स्टेशन के "
                 "पास नए घरों में रहते हैं।")],
    altitude=["{X} गाँव समुद्र तल से कितनी ऊँचाई पर है?",
              ("{X}", "{X} गाँव एक पठार पर {m} मीटर पर बसा है, और यहाँ की सर्दियाँ घाटी के गाँवों से ज़्यादा ठंडी "
               "होती हैं।"),
              ("{X}", "{X} ज़िले के सबसे ऊपर बसे गाँवों में से एक है, जो निचली पहाड़ियों के जंगलों से बहुत ऊपर है।"),
              ("{X} मंदिर", "{X} गाँव के मंदिर के शिखर की ऊँचाई 40 मीटर है; ऊपर से साफ़ दिनों में समुद्र दिखाई "
               "देता है।"),
              ("{Y}", "{Y} गाँव समुद्र के किनारे {X} गाँव के पास है; ज्वार के समय समुद्र तल बंदरगाह की दीवार से "
               "ऊपर उठ जाता है।"),
              ("{X} का मौसम", "{X} गाँव में बर्फ़ कितनी ऊँचाई तक जमती है, यह सर्दी पर निर्भर है; वसंत में नदी का "
               "तल ऊपर उठता है।")],
    food=["{X} गाँव किस खाने के लिए प्रसिद्ध है?",
          ("{X}", "यात्री {X} गाँव में {v} चखने रुकते हैं, जिसे छोटी भट्टियों में हाथ से बनाया जाता है।"),
          ("{X}", "{X} गाँव में हर शनिवार हाट लगता है, जहाँ किसान पनीर, मिठाइयाँ और अचार बेचते हैं।"),
          ("{X} अन्न बैंक", "{X} गाँव का अन्न बैंक अपने स्वयंसेवकों के लिए प्रसिद्ध है, जो हर हफ़्ते परिवारों के लिए "
           "खाना इकट्ठा करते हैं।"),
          ("{Y}", "{Y} गाँव अपने खाने के मेले के लिए प्रसिद्ध है, और {X} गाँव के कई लोग हर शरद वहाँ जाते हैं।"),
          ("{X} किला", "{X} गाँव अपने किले के लिए प्रसिद्ध है; यात्रियों को सबसे ज़्यादा दीवारों से दिखने वाला "
           "नज़ारा याद रहता है।")],
)

TRAPS["zh"] = dict(
    names=["青柳", "石泉", "云溪", "桃坪", "枫林", "白鹭", "松岗", "梅坞", "竹湾", "金沙"],
    foods=["熏豆腐", "桂花糕", "腊肉", "米酒", "核桃酥"],
    founded=["{X}村是什么时候建立的？",
             ("{X}村", "最早的移民于{year}年在{X}村的一块干燥高地上盖起了房屋。"),
             ("{X}村", "{X}村的名字已出现在{year2}年的一本税册中，可见村子至少有这么久的历史。"),
             ("{X}足球俱乐部", "{X}足球俱乐部是由铁路工人建立的。俱乐部是什么时候建立的，已经没有人记得，因为第一本"
              "会议记录丢失了。"),
             ("{Y}村", "{Y}村是作为通往{X}村道路上的集市建立的，道路铺好以后，村子发展得很快。"),
             ("{X}村史研究会", "{X}村史研究会建立的目的，是查明村里最早的房子是什么时候出现的；研究会每年春天出版一本"
              "小册子。")],
    population=["{X}村有多少人居住？",
                ("{X}村", "根据最近一次人口普查，{X}村共有{n}名居民，大多住在广场周围的老街区。"),
                ("{X}村", "{X}村约有{h}户人家，村委会根据这个数字安排公交线路。"),
                ("{X}合唱团", "很多在{X}村居住的人参加了村里的合唱团，合唱团每年十二月在礼堂举办音乐会。"),
                ("{Y}村", "{Y}村有多少人居住很难说清，因为很多人一年中有半年住在{X}村。"),
                ("{X}村的住房", "在{X}村居住的人房租比城里便宜，很多年轻家庭居住在车站旁的新房子里。")],
    altitude=["{X}村的海拔有多高？",
              ("{X}村", "{X}村坐落在一片高原上，离海面{m}米，冬天比河谷里的村庄更冷。"),
              ("{X}村", "{X}村是全县地势最高的村庄之一，远远高出低矮丘陵上的树林。"),
              ("{X}古塔", "{X}村的古塔有多高，村民们常常争论；据说塔高四十米，晴天从塔顶可以望见大海。"),
              ("{Y}村", "{Y}村位于{X}村附近的海边，海拔很低，涨潮时海水会漫过码头。"),
              ("{X}村的天气", "{X}村的积雪有多高取决于冬天的天气，春天河水会上涨。")],
    food=["{X}村以什么美食闻名？",
          ("{X}村", "旅行者经过{X}村时总要尝一尝当地的{v}，那是小作坊里手工做成的。"),
          ("{X}村", "{X}村每逢周六有集市，农民在集上出售豆腐、点心和腌菜。"),
          ("{X}村食物银行", "{X}村的食物银行以志愿者闻名，他们每周为困难家庭收集食物。"),
          ("{Y}村", "{Y}村以美食节闻名，每年秋天都有很多{X}村的人赶去参加。"),
          ("{X}城堡", "{X}村以古城堡闻名，游客印象最深的是从城墙上看到的风景。")],
)

TRAPS["ja"] = dict(
    names=["霧ヶ原", "杉ノ浦", "月見野", "鹿ノ瀬", "柚子沢", "萩ノ里", "竹ノ平", "雲雀野", "栗ヶ谷", "蛍川"],
    foods=["燻製豆腐", "栗羊羹", "柚子味噌", "鮎の甘露煮", "くるみ餅"],
    founded=["{X}村はいつ創設されましたか？",
             ("{X}村", "最初の入植者たちが{X}村の乾いた高台に家を建てたのは{year}年のことです。"),
             ("{X}村", "{X}村の名は{year2}年の年貢帳にすでに見えるので、村は少なくともそれだけ古いことになります。"),
             ("{X}サッカークラブ", "{X}サッカークラブは鉄道員たちによって創設されました。クラブがいつ創設されたのか"
              "は、最初の議事録がなくなったため、誰も覚えていません。"),
             ("{Y}村", "{Y}村は{X}村へ向かう街道沿いの市場町として創設され、道が舗装されると急速に大きくなりまし"
              "た。"),
             ("{X}村史研究会", "{X}村史研究会は、村の最初の家がいつ建ったのかを調べるために創設されました。毎年春に"
              "会報を発行しています。")],
    population=["{X}村には何人が住んでいますか？",
                ("{X}村", "最新の国勢調査によると、{X}村の人口は{n}で、その多くは広場の周りの旧市街に暮らしてい"
                 "ます。"),
                ("{X}村", "{X}村にはおよそ{h}世帯があり、役場はこの数をもとにバスの路線を決めています。"),
                ("{X}合唱団", "{X}村に住んでいる多くの人が合唱団で歌っており、合唱団は毎年十二月に公民館で演奏会を開い"
                 "ています。"),
                ("{Y}村", "{Y}村に何人が住んでいるかは分かりにくいです。多くの人が一年の半分を{X}村に住んでいるからで"
                 "す。"),
                ("{X}村の住まい", "{X}村に住んでいる人は都会より安い家賃を払っています。若い家族の多くは駅の近くの新しい"
                 "家に住んでいます。")],
    altitude=["{X}村は海抜何メートルですか？",
              ("{X}村", "{X}村は標高{m}mの台地に広がり、冬は谷あいの集落より寒くなります。"),
              ("{X}村", "{X}村は郡内でも特に高い所にある村で、低い丘の林よりはるか上にあります。"),
              ("{X}村の五重塔", "{X}村の五重塔は高さ40メートルで、晴れた日には塔の上から海が見えます。"),
              ("{Y}村", "海抜の低い{Y}村は{X}村に近い海辺にあり、満潮になると海が岸壁を越えることがあります。"),
              ("{X}村の天気", "{X}村の積雪が何メートルになるかは冬によって違い、春には川の水位が上がります。")],
    food=["{X}村はどんな食べ物で有名ですか？",
          ("{X}村", "旅人は{X}村に立ち寄ると、小さな工房で手作りされる{v}を味わっていきます。"),
          ("{X}村", "{X}村では毎週土曜日に市が立ち、農家が豆腐や菓子、漬物を売っています。"),
          ("{X}フードバンク", "{X}村のフードバンクはボランティアが多いことで有名で、毎週家族のために食べ物を集めて"
           "います。"),
          ("{Y}村", "{Y}村は食べ物の祭りで有名で、毎年秋には{X}村から多くの人が訪れます。"),
          ("{X}城", "{X}村はお城で有名ですが、訪れた人が一番覚えているのは城壁からの眺めです。")],
)

TRAPS["ko"] = dict(
    names=["솔매", "은골", "달내", "새터", "버들목", "감나무골", "구름재", "돌샘", "물푸레", "참나리"],
    foods=["도토리묵", "감자떡", "유자청", "호박엿", "메밀전병"],
    founded=["{X} 마을은 언제 세워졌나요?",
             ("{X} 마을", "처음 정착한 사람들이 {year}년에 {X} 마을의 마른 언덕 위에 집을 지었습니다."),
             ("{X} 마을", "{X} 마을의 이름은 {year2}년의 세금 장부에 이미 나오므로, 마을은 적어도 그만큼 오래되었습니다."),
             ("{X} 축구단", "{X} 축구단은 철도 노동자들이 세웠습니다. 축구단이 언제 세워졌는지는 첫 회의록이 사라져서 "
              "아무도 기억하지 못합니다."),
             ("{Y} 마을", "{Y} 마을은 {X} 마을로 가는 길가의 장터로 세워졌고, 길이 포장되자 빠르게 커졌습니다."),
             ("{X} 마을 역사 모임", "{X} 마을 역사 모임은 마을의 첫 집이 언제 세워졌는지 알아보려고 만들어졌으며, "
              "해마다 봄에 소식지를 냅니다.")],
    population=["{X} 마을에는 몇 명이 살고 있나요?",
                ("{X} 마을", "최근 인구 조사에 따르면 {X} 마을의 주민은 {n}명이며, 대부분 광장 주변의 옛 동네에 "
                 "거주합니다."),
                ("{X} 마을", "{X} 마을에는 약 {h}가구가 있으며, 면사무소는 이 숫자로 버스 노선을 정합니다."),
                ("{X} 합창단", "{X} 마을에 살고 있는 많은 사람이 합창단에서 노래하며, 합창단은 해마다 12월에 "
                 "마을회관에서 공연합니다."),
                ("{Y} 마을", "{Y} 마을에 몇 명이 살고 있는지는 알기 어렵습니다. 많은 사람이 일 년의 절반을 {X} 마을에 "
                 "살고 있기 때문입니다."),
                ("{X} 마을의 집", "{X} 마을에 살고 있는 사람들은 도시보다 싼 집세를 내고, 젊은 가족들은 역 근처 새집에 "
                 "살고 있습니다.")],
    altitude=["{X} 마을은 해발 몇 미터에 있나요?",
              ("{X} 마을", "{X} 마을은 높이 {m}m의 고원에 자리 잡고 있어 겨울이 골짜기 마을보다 춥습니다."),
              ("{X} 마을", "{X} 마을은 군에서 가장 높은 곳에 있는 마을 가운데 하나로, 낮은 언덕의 숲보다 훨씬 위에 "
               "있습니다."),
              ("{X} 마을 탑", "{X} 마을의 오래된 탑은 높이가 40미터이며, 맑은 날에는 탑 위에서 바다가 보입니다."),
              ("{Y} 마을", "해발이 낮은 {Y} 마을은 {X} 마을 근처 바닷가에 있어, 밀물 때면 바닷물이 방파제를 넘기도 "
               "합니다."),
              ("{X} 마을 날씨", "{X} 마을에 눈이 몇 미터나 쌓이는지는 겨울마다 다르고, 봄에는 강물이 불어납니다.")],
    food=["{X} 마을은 어떤 음식으로 유명한가요?",
          ("{X} 마을", "여행자들은 {X} 마을에 들러 작은 공방에서 손으로 만든 {v}을 맛봅니다."),
          ("{X} 마을", "{X} 마을에는 토요일마다 장이 서서 농부들이 두부와 과자, 장아찌를 팝니다."),
          ("{X} 푸드뱅크", "{X} 마을의 푸드뱅크는 자원봉사자가 많기로 유명하며, 매주 가정을 위해 음식을 모읍니다."),
          ("{Y} 마을", "{Y} 마을은 음식 축제로 유명해서, 해마다 가을이면 {X} 마을 사람들이 많이 찾아갑니다."),
          ("{X} 성", "{X} 마을은 옛 성으로 유명한데, 방문객이 가장 오래 기억하는 것은 성벽에서 본 경치입니다.")],
)

TRAPS["th"] = dict(
    names=["น้ำใส", "ดอนแก้ว", "หนองบัวทอง", "โคกมะขาม", "ทุ่งดาว", "ห้วยเย็น", "ป่าสักงาม", "ท่าลม", "เขาเขียว",
           "โป่งงาม"],
    foods=["ข้าวหลามไผ่", "กล้วยตาก", "ขนมตาล", "แหนมหมู", "น้ำพริกเผา"],
    founded=["หมู่บ้าน{X}ก่อตั้งขึ้นเมื่อใด",
             ("หมู่บ้าน{X}", "ผู้บุกเบิกกลุ่มแรกสร้างบ้านเรือนบนเนินดินแห้งของหมู่บ้าน{X}ในปี {year}"),
             ("หมู่บ้าน{X}", "ชื่อหมู่บ้าน{X}ปรากฏอยู่แล้วในทะเบียนภาษีปี {year2} หมู่บ้านจึงมีอายุอย่างน้อยเท่านั้น"),
             ("สโมสรฟุตบอล{X}", "สโมสรฟุตบอล{X}ก่อตั้งขึ้นโดยคนงานรถไฟ แต่ไม่มีใครจำได้ว่าสโมสรก่อตั้งขึ้นเมื่อใด "
              "เพราะสมุดบันทึกการประชุมเล่มแรกหายไป"),
             ("หมู่บ้าน{Y}", "หมู่บ้าน{Y}ก่อตั้งขึ้นเป็นตลาดริมทางไปหมู่บ้าน{X} และเมื่อถนนลาดยางเสร็จก็เติบโตอย่างรวดเร็ว"),
             ("ชมรมประวัติศาสตร์{X}", "ชมรมประวัติศาสตร์หมู่บ้าน{X}ก่อตั้งขึ้นเพื่อค้นหาว่าบ้านหลังแรกของหมู่บ้าน"
              "สร้างขึ้นเมื่อใด และออกจดหมายข่าวทุกฤดูฝน")],
    population=["หมู่บ้าน{X}มีคนอาศัยอยู่กี่คน",
                ("หมู่บ้าน{X}", "จากการสำรวจสำมะโนครั้งล่าสุด หมู่บ้าน{X}มีประชากร {n} ราย "
                 "ส่วนใหญ่อยู่ในย่านเก่ารอบลานกลางหมู่บ้าน"),
                ("หมู่บ้าน{X}", "หมู่บ้าน{X}มีราว {h} ครัวเรือน และองค์การบริหารส่วนตำบลใช้ตัวเลขนี้วางเส้นทางรถประจำทาง"),
                ("คณะนักร้อง{X}", "คนจำนวนมากที่อาศัยอยู่ในหมู่บ้าน{X}ร้องเพลงในคณะนักร้องประจำวัด "
                 "ซึ่งจัดการแสดงทุกเดือนธันวาคม"),
                ("หมู่บ้าน{Y}", "ยากที่จะบอกว่าหมู่บ้าน{Y}มีคนอาศัยอยู่กี่คน เพราะหลายคนอาศัยอยู่ที่หมู่บ้าน{X}ครึ่งปี"),
                ("ที่อยู่อาศัยใน{X}", "คนที่อาศัยอยู่ในหมู่บ้าน{X}จ่ายค่าเช่าถูกกว่าในเมือง "
                 "และครอบครัวหนุ่มสาวหลายครอบครัวอาศัยอยู่ในบ้านใหม่ใกล้สถานีรถไฟ")],
    altitude=["หมู่บ้าน{X}อยู่สูงจากระดับน้ำทะเลเท่าไร",
              ("หมู่บ้าน{X}", "หมู่บ้าน{X}ตั้งอยู่บนยอดดอยที่ {m} เมตร ฤดูหนาวจึงหนาวกว่าหมู่บ้านในหุบเขา"),
              ("หมู่บ้าน{X}", "หมู่บ้าน{X}เป็นหนึ่งในหมู่บ้านบนดอยลึกที่สุดของอำเภอ อยู่เหนือป่าบนเนินเตี้ย ๆ ขึ้นไปมาก"),
              ("เจดีย์{X}", "เจดีย์ของหมู่บ้าน{X}สูง 40 เมตร ในวันที่ฟ้าใสจะมองเห็นทะเลได้จากยอดเจดีย์"),
              ("หมู่บ้าน{Y}", "หมู่บ้าน{Y}อยู่ริมทะเลใกล้หมู่บ้าน{X} เมื่อน้ำขึ้น ระดับน้ำทะเลจะสูงกว่ากำแพงท่าเรือ"),
              ("อากาศที่{X}", "ระดับน้ำในแม่น้ำที่หมู่บ้าน{X}สูงขึ้นเท่าไรขึ้นอยู่กับฝน และน้ำจะลดลงในฤดูแล้ง")],
    food=["หมู่บ้าน{X}มีชื่อเสียงเรื่องอาหารอะไร",
          ("หมู่บ้าน{X}", "นักเดินทางมักแวะหมู่บ้าน{X}เพื่อลิ้มรส{v}ที่ทำด้วยมือในโรงทำขนมเล็ก ๆ"),
          ("หมู่บ้าน{X}", "หมู่บ้าน{X}มีตลาดนัดทุกวันเสาร์ ชาวนานำผัก ขนม และของดองมาขาย"),
          ("ธนาคารอาหาร{X}", "ธนาคารอาหารของหมู่บ้าน{X}มีชื่อเสียงเรื่องอาสาสมัคร ที่รวบรวมอาหารให้ครอบครัวต่าง ๆ "
           "ทุกสัปดาห์"),
          ("หมู่บ้าน{Y}", "หมู่บ้าน{Y}มีชื่อเสียงเรื่องเทศกาลอาหาร และทุกฤดูหนาวมีคนจากหมู่บ้าน{X}เดินทางไปร่วมงานมาก"),
          ("วัด{X}", "หมู่บ้าน{X}มีชื่อเสียงเรื่องวัดเก่า สิ่งที่ผู้มาเยือนจำได้มากที่สุดคือวิวจากกำแพงวัด")],
)

# Half of the relevant passages (alternating by village and facet) end with a sentence that echoes the query,
# as real answers often do; the other half share only the village name with it.
BRIDGES: dict[str, list[str]] = {
    "en": ['Local histories take that year as the date when {X} was founded.', 'That is how many people live in {X} all year round.', 'No other village in the county lies so high above sea level.', 'It is the food {X} is famous for.'],
    "es": ['Las crónicas locales toman ese año como la fecha en que se fundó {X}.', 'Esas son las personas que viven en {X} todo el año.', 'Ningún otro pueblo de la comarca está a tanta altura sobre el nivel del mar.', 'Es la comida por la que {X} es famoso.'],
    "de": ['Die Ortschronik nennt dieses Jahr als das Jahr, in dem {X} gegründet wurde.', 'So viele Menschen leben das ganze Jahr über in {X}.', 'Kein anderes Dorf des Kreises liegt so hoch über dem Meeresspiegel.', 'Für dieses Essen ist {X} berühmt.'],
    "ru": ['Местные летописцы считают этот год датой, когда было основано село {X}.', 'Столько человек живёт в селе {X} круглый год.', 'Ни одно другое село района не находится так высоко над уровнем моря.', 'Именно этой едой славится село {X}.'],
    "ar": ['ويعدّ المؤرخون المحليون تلك السنة السنة التي تأسست فيها قرية {X}.', 'هذا هو عدد الناس الذين يعيشون في قرية {X} طوال السنة.', 'ولا توجد قرية أخرى في المنطقة ترتفع هكذا عن مستوى سطح البحر.', 'وهذا هو الطعام الذي تشتهر به قرية {X}.'],
    "hi": ['स्थानीय इतिहास में इसी वर्ष को {X} गाँव की स्थापना का वर्ष माना जाता है।', 'इतने लोग साल भर {X} गाँव में रहते हैं।', 'ज़िले का कोई और गाँव समुद्र तल से इतनी ऊँचाई पर नहीं है।', '{X} गाँव इसी खाने के लिए प्रसिद्ध है।'],
    "zh": ['当地史书把这一年看作{X}村建立的时间。', '这就是常年在{X}村居住的人数。', '县里再没有别的村子海拔这么高。', '{X}村就是以这种美食闻名的。'],
    "ja": ['地元の郷土史では、この年を{X}村が創設された年としています。', 'これが一年を通して{X}村に住んでいる人の数です。', '郡内でこれほど海抜の高い村はほかにありません。', '{X}村はこの食べ物で有名です。'],
    "ko": ['마을 향토지는 이 해를 {X} 마을이 세워진 해로 봅니다.', '이것이 일 년 내내 {X} 마을에 살고 있는 사람의 수입니다.', '군에서 이보다 해발이 높은 마을은 없습니다.', '{X} 마을은 바로 이 음식으로 유명합니다.'],
    "th": ['ตำราประวัติศาสตร์ท้องถิ่นถือว่าปีนั้นเป็นปีที่หมู่บ้าน{X}ก่อตั้งขึ้น', 'นี่คือจำนวนคนที่อาศัยอยู่ในหมู่บ้าน{X}ตลอดทั้งปี', 'ไม่มีหมู่บ้านอื่นในอำเภอที่อยู่สูงจากระดับน้ำทะเลเท่านี้', 'นี่คืออาหารที่ทำให้หมู่บ้าน{X}มีชื่อเสียง'],
}


def trap_families(lang: str, seed: int) -> tuple[list[dict], list[dict]]:
    """Queries [{text, judged: [(doc index, grade)]}] and docs [{title, text}] of the language's trap families."""
    spec = TRAPS[lang]
    rng = random.Random(f"{seed}:traps:{lang}")
    names = spec["names"]
    queries: list[dict] = []
    docs: list[dict] = []
    for i, name in enumerate(names):
        year = rng.randint(1150, 1880)
        n = rng.randint(900, 24000)
        slots = {"X": name, "Y": names[(i + 1) % len(names)], "year": year, "year2": year + rng.randint(30, 90),
                 "n": n, "h": n * 10 // rng.randint(24, 31), "m": rng.randint(320, 1900),
                 "v": spec["foods"][i % len(spec["foods"])]}
        for f, facet in enumerate(FACETS):
            query, *passages = spec[facet]
            judged = []
            for kind, (title, text) in zip(KINDS, passages):
                if kind == "rel" and (i + f) % 2 == 0:
                    text = f"{text}{'' if lang in ('zh', 'ja') else ' '}{BRIDGES[lang][f]}"
                docs.append({"title": title.format(**slots), "text": text.format(**slots)})
                if GRADES[kind] is not None:
                    judged.append((len(docs) - 1, GRADES[kind]))
            queries.append({"text": query.format(**slots), "judged": judged})
    return queries, docs
